package dynamo

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Templates share the workspace's partition, keyed by their natural key,
// so a template is unique per (channel, name, language) with no claim
// item, one Query lists a channel's, and one lists a name's languages:
//
//	WS#w   TEMPLATE#<channel>#<name>#<language>
const prefixTemplate = "TEMPLATE#"

type templateItem struct {
	PK string `json:"PK"`
	SK string `json:"SK"`
	inbox.MessageTemplate
}

// templateSK is the sort key of a template id (channel.name.language); ids
// that are not one never reach the table.
func templateSK(id string) (string, bool) {
	if !inbox.ValidTemplateID(id) {
		return "", false
	}
	return prefixTemplate + strings.ReplaceAll(id, ".", "#"), true
}

func (s *Store) putTemplate(ctx context.Context, op string, t *inbox.MessageTemplate, cond expression.ConditionBuilder) error {
	sk, ok := templateSK(t.ID)
	if !ok || t.ID != inbox.TemplateID(t.Channel, t.Name, t.Language) {
		return inbox.Invalid("id", "template id %q does not match its channel, name and language", t.ID)
	}
	next := *t
	next.Version++
	item, err := marshal(templateItem{PK: workspacePK(t.WorkspaceID), SK: sk, MessageTemplate: next})
	if err != nil {
		return inbox.Internal(err)
	}
	if err := s.putIf(ctx, op, item, cond); err != nil {
		return err
	}
	t.Version = next.Version
	return nil
}

// CreateTemplate stores a new template; one with the same channel, name and
// language is a conflict.
func (s *Store) CreateTemplate(ctx context.Context, t *inbox.MessageTemplate) error {
	t.Version = 0
	err := s.putTemplate(ctx, "CreateTemplate", t, expression.AttributeNotExists(expression.Name(AttrPK)))
	if err == inbox.ErrVersionConflict {
		return &inbox.Error{Kind: inbox.KindConflict, Field: "name",
			Message: "a " + string(t.Channel) + " template named " + t.Name + " in " + t.Language + " already exists"}
	}
	return err
}

// PutTemplate replaces a template whose stored version is t.Version.
func (s *Store) PutTemplate(ctx context.Context, t *inbox.MessageTemplate) error {
	return s.putTemplate(ctx, "PutTemplate", t, expression.Name("version").Equal(expression.Value(t.Version)))
}

func (s *Store) GetTemplate(ctx context.Context, ws, id string) (*inbox.MessageTemplate, error) {
	sk, ok := templateSK(id)
	if !ok {
		return nil, notFound("template", id)
	}
	var it templateItem
	found, err := s.getItem(ctx, "GetTemplate", key(workspacePK(ws), sk), true, &it)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("template", id)
	}
	return &it.MessageTemplate, nil
}

// ListTemplates is one Query of the workspace's templates, of one channel
// or all, sorted by channel, name and language (the sort key).
func (s *Store) ListTemplates(ctx context.Context, ws string, ch inbox.Channel) ([]*inbox.MessageTemplate, error) {
	prefix := prefixTemplate
	if ch != "" {
		if !safeKeyPart(string(ch)) {
			return []*inbox.MessageTemplate{}, nil
		}
		prefix += string(ch) + "#"
	}
	return s.queryTemplates(ctx, "ListTemplates", ws, prefix)
}

// FindTemplates lists a name's languages: the name ends at the next '#',
// which no name contains, so order_update never finds order_update_v2.
func (s *Store) FindTemplates(ctx context.Context, ws string, ch inbox.Channel, name string) ([]*inbox.MessageTemplate, error) {
	if !safeKeyPart(string(ch)) || !safeKeyPart(name) || strings.Contains(name, ".") {
		return []*inbox.MessageTemplate{}, nil
	}
	return s.queryTemplates(ctx, "FindTemplates", ws, prefixTemplate+string(ch)+"#"+name+"#")
}

func (s *Store) queryTemplates(ctx context.Context, op, ws, prefix string) ([]*inbox.MessageTemplate, error) {
	items, err := s.queryAll(ctx, op, workspacePK(ws), prefix)
	if err != nil {
		return nil, err
	}
	out := make([]*inbox.MessageTemplate, 0, len(items))
	for _, item := range items {
		var it templateItem
		if err := unmarshal(item, &it); err != nil {
			return nil, inbox.Internal(err)
		}
		out = append(out, &it.MessageTemplate)
	}
	return out, nil
}

// DeleteTemplate removes a template; deleting one already gone is a no-op.
func (s *Store) DeleteTemplate(ctx context.Context, t *inbox.MessageTemplate) error {
	sk, ok := templateSK(t.ID)
	if !ok {
		return nil
	}
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table, Key: key(workspacePK(t.WorkspaceID), sk),
		ReturnConsumedCapacity: capacityMode(ctx)})
	if err != nil {
		return unavailable("DeleteTemplate", err)
	}
	record(ctx, writing, out.ConsumedCapacity)
	return nil
}
