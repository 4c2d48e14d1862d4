package dynamo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/inbox"
)

func storedTemplate(ws string, ch inbox.Channel, name, lang string, status inbox.TemplateStatus) *inbox.MessageTemplate {
	now := time.Now().UTC().Truncate(time.Millisecond)
	return &inbox.MessageTemplate{ID: inbox.TemplateID(ch, name, lang), WorkspaceID: ws, Channel: ch, Name: name, Language: lang,
		Category: inbox.CategoryUtility, Components: []inbox.TemplateComponent{{Type: "body", Text: "Order {{1}}"}}, Variables: 1,
		Status: status, CreatedAt: now, UpdatedAt: now}
}

func TestTemplateStore(t *testing.T) {
	store := dynamotest.Store(t)
	ctx := context.Background()
	ws, other := inbox.NewID(time.Now()), inbox.NewID(time.Now())
	order := storedTemplate(ws, inbox.ChannelWhatsApp, "order", "en_US", inbox.TemplatePending)
	for _, tpl := range []*inbox.MessageTemplate{
		order,
		storedTemplate(ws, inbox.ChannelWhatsApp, "order", "fr", inbox.TemplatePending),
		storedTemplate(ws, inbox.ChannelWhatsApp, "order_v2", "en_US", inbox.TemplatePending), // a longer name, not a language of order
		storedTemplate(ws, inbox.ChannelSMS, "order", "en", inbox.TemplateApproved),
		storedTemplate(other, inbox.ChannelWhatsApp, "order", "en_US", inbox.TemplateApproved),
	} {
		if err := store.CreateTemplate(ctx, tpl); err != nil {
			t.Fatal(err)
		}
	}
	if order.Version != 1 {
		t.Errorf("a created template has version %d, want 1", order.Version)
	}
	// Unique per channel, name and language.
	dup := storedTemplate(ws, inbox.ChannelWhatsApp, "order", "en_US", inbox.TemplateDraft)
	if err := store.CreateTemplate(ctx, dup); !inbox.IsKind(err, inbox.KindConflict) || errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("a second whatsapp order en_US: err = %v, want a conflict naming it", err)
	}
	got, err := store.GetTemplate(ctx, ws, order.ID)
	if err != nil || got.Name != "order" || got.Status != inbox.TemplatePending || got.Version != 1 {
		t.Fatalf("GetTemplate = %+v, %v", got, err)
	}
	for _, id := range []string{"whatsapp.nope.en", "not-an-id", "whatsapp.order.en_US#x"} {
		if _, err := store.GetTemplate(ctx, ws, id); !inbox.IsKind(err, inbox.KindNotFound) {
			t.Errorf("GetTemplate(%q): err = %v, want not found", id, err)
		}
	}
	ids := func(list []*inbox.MessageTemplate, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, x := range list {
			out = append(out, x.ID)
		}
		return out
	}
	assertIDs := func(what string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s = %v, want %v", what, got, want)
				return
			}
		}
	}
	assertIDs("all", ids(store.ListTemplates(ctx, ws, "")), "sms.order.en", "whatsapp.order.en_US", "whatsapp.order.fr", "whatsapp.order_v2.en_US")
	assertIDs("whatsapp", ids(store.ListTemplates(ctx, ws, inbox.ChannelWhatsApp)), "whatsapp.order.en_US", "whatsapp.order.fr", "whatsapp.order_v2.en_US")
	assertIDs("order's languages", ids(store.FindTemplates(ctx, ws, inbox.ChannelWhatsApp, "order")), "whatsapp.order.en_US", "whatsapp.order.fr")
	assertIDs("another workspace", ids(store.ListTemplates(ctx, other, "")), "whatsapp.order.en_US")

	// Versioned replace.
	stale := *got
	got.Status = inbox.TemplateApproved
	if err := store.PutTemplate(ctx, got); err != nil || got.Version != 2 {
		t.Fatalf("PutTemplate: %v, version %d", err, got.Version)
	}
	stale.Status = inbox.TemplateRejected
	if err := store.PutTemplate(ctx, &stale); !errors.Is(err, inbox.ErrVersionConflict) {
		t.Errorf("a stale PutTemplate: err = %v, want a version conflict", err)
	}
	if err := store.DeleteTemplate(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteTemplate(ctx, got); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	assertIDs("after delete", ids(store.FindTemplates(ctx, ws, inbox.ChannelWhatsApp, "order")), "whatsapp.order.fr")
}

// fakeRegistry is Meta's message templates, in memory.
type fakeRegistry struct {
	submitted []*inbox.MessageTemplate
	deleted   []string
	states    []inbox.TemplateState
	fail      error
}

func (f *fakeRegistry) Submit(_ context.Context, _ string, t *inbox.MessageTemplate) (string, inbox.TemplateStatus, error) {
	if f.fail != nil {
		return "", "", f.fail
	}
	f.submitted = append(f.submitted, t)
	return "1627019861106475", inbox.TemplatePending, nil
}

func (f *fakeRegistry) List(context.Context, string) ([]inbox.TemplateState, error) {
	return f.states, nil
}

func (f *fakeRegistry) Delete(_ context.Context, _, name string) error {
	f.deleted = append(f.deleted, name)
	return nil
}

func TestTemplateReview(t *testing.T) {
	svc, store, admin := newService(t)
	ctx := context.Background()
	reg := &fakeRegistry{}
	desk := inbox.NewTemplateDesk(store, inbox.SystemClock{}, reg)
	in := inbox.TemplateInput{Channel: inbox.ChannelWhatsApp, Name: "order_update", Language: "en_US", Category: inbox.CategoryUtility,
		Components: []inbox.TemplateComponent{{Type: "body", Text: "Order {{1}} is {{2}}", Example: []string{"4411", "shipped"}}}}
	agent := inbox.Actor{WorkspaceID: admin.WorkspaceID, UserID: "agent-1", Role: inbox.RoleAgent}
	if _, err := desk.CreateTemplate(ctx, agent, in); !inbox.IsKind(err, inbox.KindForbidden) {
		t.Errorf("an agent creating a template: err = %v, want forbidden", err)
	}
	// A submission Meta refuses leaves nothing behind, so a retry starts afresh.
	reg.fail = inbox.Invalid("template", "Meta refused the template")
	if _, err := desk.CreateTemplate(ctx, admin, in); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Fatalf("refused submission: err = %v", err)
	}
	if _, err := desk.Template(ctx, admin, "whatsapp.order_update.en_US"); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("a refused template was kept: %v", err)
	}
	reg.fail = nil
	tpl, err := desk.CreateTemplate(ctx, admin, in)
	if err != nil || tpl.Status != inbox.TemplatePending || tpl.ProviderID != "1627019861106475" || len(reg.submitted) != 1 {
		t.Fatalf("created = %+v, %v (submitted %d)", tpl, err, len(reg.submitted))
	}

	// Meta approves it; the redelivered webhook changes nothing.
	st := inbox.TemplateState{WorkspaceID: admin.WorkspaceID, ProviderID: tpl.ProviderID, Name: "order_update", Language: "en_US", Status: inbox.TemplateApproved, Reason: "NONE"}
	first, err := svc.ApplyTemplateStatus(ctx, st)
	if err != nil || first.Status != inbox.TemplateApproved || first.Reason != "" {
		t.Fatalf("approval = %+v, %v", first, err)
	}
	second, err := svc.ApplyTemplateStatus(ctx, st)
	if err != nil || second.Version != first.Version {
		t.Errorf("a redelivered approval: version %d then %d, %v", first.Version, second.Version, err)
	}
	unknown := st
	unknown.Name = "elsewhere"
	if _, err := svc.ApplyTemplateStatus(ctx, unknown); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("a template Parley never made: err = %v, want not found", err)
	}
	other := st
	other.ProviderID = "999"
	if _, err := svc.ApplyTemplateStatus(ctx, other); !inbox.IsKind(err, inbox.KindNotFound) {
		t.Errorf("another Meta template of the same name: err = %v, want not found", err)
	}

	// Refresh reads Meta's list: rejected, with the reason.
	reg.states = []inbox.TemplateState{{ProviderID: tpl.ProviderID, Name: "order_update", Language: "en_US", Status: inbox.TemplateRejected, Reason: "INVALID_FORMAT"},
		{ProviderID: "5", Name: "made_in_meta", Language: "en", Status: inbox.TemplateApproved}}
	list, err := desk.RefreshTemplates(ctx, admin)
	if err != nil || len(list) != 1 || list[0].Status != inbox.TemplateRejected || list[0].Reason != "INVALID_FORMAT" {
		t.Fatalf("refresh = %+v, %v", list, err)
	}
	// Another language of the name, which Meta's delete by name removes too.
	fr := storedTemplate(admin.WorkspaceID, inbox.ChannelWhatsApp, "order_update", "fr", inbox.TemplateApproved)
	sms := storedTemplate(admin.WorkspaceID, inbox.ChannelSMS, "order_update", "en", inbox.TemplateApproved)
	for _, x := range []*inbox.MessageTemplate{fr, sms} {
		if err := store.CreateTemplate(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := desk.DeleteTemplate(ctx, admin, tpl.ID); err != nil || len(reg.deleted) != 1 || reg.deleted[0] != "order_update" {
		t.Errorf("delete: %v, Meta deletions %v", err, reg.deleted)
	}
	left, err := store.ListTemplates(ctx, admin.WorkspaceID, "")
	if err != nil || len(left) != 1 || left[0].ID != sms.ID {
		t.Errorf("after deleting order_update at Meta, templates = %+v, %v; want only the SMS one", left, err)
	}
}

// The old settings.templates map becomes approved WhatsApp templates on
// the first read, once, and then sends use the resource.
func TestTemplateMigration(t *testing.T) {
	svc, store, admin := newService(t)
	ctx := context.Background()
	w, err := store.GetWorkspace(ctx, admin.WorkspaceID)
	if err != nil {
		t.Fatal(err)
	}
	w.Settings.Templates = map[string]inbox.TemplateSpec{
		"order_update": {Language: "en_US", Params: 2, Body: "Order {{1}} is {{2}}"},
		"hello":        {Language: "en_US", Params: 0},
	}
	if err := store.PutWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	// A send naming a migrated template works before anyone lists them.
	conv, _, err := svc.StartConversation(ctx, admin, inbox.StartInput{Phone: "+14155550177", Name: "Migrated"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := svc.PostMessage(ctx, admin, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelWhatsApp,
		Template: &inbox.Template{Name: "order_update", Params: []string{"4411", "shipped"}}}, "")
	if err != nil || m.Template.Language != "en_US" {
		t.Fatalf("send with a migrated template: %+v, %v", m, err)
	}
	desk := inbox.NewTemplateDesk(store, inbox.SystemClock{}, nil)
	for range 2 { // idempotent
		list, err := desk.Templates(ctx, admin, "whatsapp")
		if err != nil || len(list) != 2 {
			t.Fatalf("templates after migration = %+v, %v", list, err)
		}
		for _, x := range list {
			if x.Status != inbox.TemplateApproved || x.Channel != inbox.ChannelWhatsApp {
				t.Errorf("migrated %+v, want an approved WhatsApp template", x)
			}
			if x.Name == "order_update" && (x.Variables != 2 || x.Body() != "Order {{1}} is {{2}}") {
				t.Errorf("migrated order_update = %+v", x)
			}
		}
	}
	after, err := store.GetWorkspace(ctx, admin.WorkspaceID)
	if err != nil || len(after.Settings.Templates) != 0 {
		t.Errorf("the settings map after migration = %v, %v; want it cleared", after.Settings.Templates, err)
	}
	// PATCH /workspace no longer takes templates.
	if _, err := svc.UpdateSettings(ctx, admin, inbox.WorkspaceSettingsPatch{Templates: map[string]inbox.TemplateSpec{}}); !inbox.IsKind(err, inbox.KindInvalid) {
		t.Errorf("PATCH templates: err = %v, want invalid", err)
	}
}

// A template message is checked again as it goes out: one Meta paused after
// it was posted fails, and nothing is sent.
func TestTemplatePausedBeforeDelivery(t *testing.T) {
	svc, outbox, _, actor, conv := deliverySetup(t)
	ctx := context.Background()
	tpl := storedTemplate(actor.WorkspaceID, inbox.ChannelWhatsApp, "order", "en_US", inbox.TemplateApproved)
	if err := svc.Store.CreateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	post := func() *inbox.Message {
		t.Helper()
		m, _, err := svc.PostMessage(ctx, actor, conv.ID, inbox.OutboundInput{Channel: inbox.ChannelWhatsApp,
			Template: &inbox.Template{Name: "order", Params: []string{"4411"}}}, "")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	sent := deliver(t, svc, post())
	if sent.Status != inbox.MessageSent {
		t.Fatalf("an approved template message = %s (%+v)", sent.Status, sent.Error)
	}
	m := post()
	if _, err := svc.ApplyTemplateStatus(ctx, inbox.TemplateState{WorkspaceID: actor.WorkspaceID, Name: "order", Language: "en_US", Status: inbox.TemplatePaused, Reason: "Low quality"}); err != nil {
		t.Fatal(err)
	}
	got := deliver(t, svc, m)
	if got.Status != inbox.MessageFailed || got.Error == nil || got.Error.Code != "template_not_approved" {
		t.Errorf("after a pause, the message = %s (%+v), want failed with template_not_approved", got.Status, got.Error)
	}
	if n := len(outbox.List(actor.WorkspaceID)); n != 1 {
		t.Errorf("%d sends, want only the one before the pause", n)
	}
}
