package capture

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Templates is the local stand-in for Meta's message templates: it records
// each submission and deletion instead of calling the Graph API. A
// submission is pending until a status webhook (which a developer or a
// test signs and posts) approves it in Parley.
type Templates struct {
	mu        sync.Mutex
	submitted map[string][]SubmittedTemplate
}

// SubmittedTemplate is one template handed to the stand-in.
type SubmittedTemplate struct {
	WorkspaceID string                    `json:"workspaceId"`
	ProviderID  string                    `json:"providerId"`
	Name        string                    `json:"name"`
	Language    string                    `json:"language"`
	Category    inbox.TemplateCategory    `json:"category"`
	Components  []inbox.TemplateComponent `json:"components"`
	Deleted     bool                      `json:"deleted,omitempty"`
	At          time.Time                 `json:"at"`
}

var _ inbox.TemplateRegistry = (*Templates)(nil)

// Submit records a template and answers as Meta does: an id, PENDING.
func (t *Templates) Submit(_ context.Context, ws string, tpl *inbox.MessageTemplate) (string, inbox.TemplateStatus, error) {
	n, _ := rand.Int(rand.Reader, big.NewInt(1e15)) // Meta's ids are 15-16 digit numbers
	id := fmt.Sprintf("%d", 1e15+n.Int64())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.submitted == nil {
		t.submitted = map[string][]SubmittedTemplate{}
	}
	t.submitted[ws] = append(t.submitted[ws], SubmittedTemplate{WorkspaceID: ws, ProviderID: id, Name: tpl.Name, Language: tpl.Language,
		Category: tpl.Category, Components: slices.Clone(tpl.Components), At: time.Now().UTC()})
	return id, inbox.TemplatePending, nil
}

// List reports no statuses: the stand-in has no reviewer, so a refresh
// changes nothing locally (approve with the signed status webhook instead),
// and never undoes an approval that webhook made.
func (t *Templates) List(context.Context, string) ([]inbox.TemplateState, error) {
	return []inbox.TemplateState{}, nil
}

// Delete marks every language of a name deleted.
func (t *Templates) Delete(_ context.Context, ws, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.submitted[ws] {
		if t.submitted[ws][i].Name == name {
			t.submitted[ws][i].Deleted = true
		}
	}
	return nil
}

// Submitted lists a workspace's submissions, oldest first.
func (t *Templates) Submitted(ws string) []SubmittedTemplate {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.submitted[ws])
}
