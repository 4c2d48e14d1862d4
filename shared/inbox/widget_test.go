package inbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

// workspaceStore keeps one workspace; any other Store method panics (the
// embedded interface is nil), so the test shows what the use cases touch.
type workspaceStore struct {
	inbox.Store
	ws *inbox.Workspace
}

func (s *workspaceStore) GetWorkspace(_ context.Context, id string) (*inbox.Workspace, error) {
	if s.ws == nil || s.ws.ID != id {
		return nil, inbox.Errorf(inbox.KindNotFound, "workspace %q not found", id)
	}
	w := *s.ws
	return &w, nil
}

func (s *workspaceStore) WorkspaceSettings(ctx context.Context, id string) (inbox.WorkspaceSettings, error) {
	w, err := s.GetWorkspace(ctx, id)
	if err != nil {
		return inbox.WorkspaceSettings{}, err
	}
	return w.Settings, nil
}

func (s *workspaceStore) PutWorkspace(_ context.Context, w *inbox.Workspace) error {
	next := *w
	next.Version++
	s.ws, w.Version = &next, next.Version
	return nil
}

// An admin sets the widget's look; the public settings show it with the
// defaults filled in, and {} returns to the defaults.
func TestWidgetSettings(t *testing.T) {
	ctx := context.Background()
	admin := inbox.Actor{WorkspaceID: "ws1", UserID: "u1", Role: inbox.RoleAdmin}
	str := func(s string) *string { return &s }

	t.Run("defaults", func(t *testing.T) {
		for name, store := range map[string]*workspaceStore{
			"no widget settings": {ws: &inbox.Workspace{ID: "ws1"}},
			"no workspace":       {},
		} {
			got, err := inbox.NewWebChat(store, nil, nil).Widget(ctx, "ws1")
			want := inbox.WidgetSettings{Title: inbox.DefaultWidgetTitle, Greeting: inbox.DefaultWidgetGreeting, Color: inbox.DefaultWidgetColor}
			if err != nil || got != want {
				t.Errorf("%s: Widget = %+v, %v; want the defaults %+v", name, got, err, want)
			}
		}
	})

	t.Run("set, read, reset", func(t *testing.T) {
		store := &workspaceStore{ws: &inbox.Workspace{ID: "ws1", Settings: inbox.WorkspaceSettings{WebChatIdentitySecret: strings.Repeat("s", 40)}}}
		desk := inbox.NewDesk(store, nil, nil, nil)
		w, err := desk.UpdateSettings(ctx, admin, inbox.WorkspaceSettingsPatch{Widget: &inbox.WidgetSettings{Title: "  Acme support ", Color: "#FF8800"}})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := *w.Settings.Widget, (inbox.WidgetSettings{Title: "Acme support", Color: "#ff8800"}); got != want {
			t.Errorf("stored widget = %+v, want %+v (trimmed, colour in lower case)", got, want)
		}
		got, err := inbox.NewWebChat(store, nil, nil).Widget(ctx, "ws1")
		want := inbox.WidgetSettings{Title: "Acme support", Greeting: inbox.DefaultWidgetGreeting, Color: "#ff8800"}
		if err != nil || got != want {
			t.Errorf("Widget = %+v, %v; want %+v", got, err, want)
		}
		// Other patches leave it alone; {} removes it.
		if w, err = desk.UpdateSettings(ctx, admin, inbox.WorkspaceSettingsPatch{HelpReply: str("Call us")}); err != nil || w.Settings.Widget == nil {
			t.Fatalf("after another patch: widget = %+v, %v; want it kept", w.Settings.Widget, err)
		}
		if w, err = desk.UpdateSettings(ctx, admin, inbox.WorkspaceSettingsPatch{Widget: &inbox.WidgetSettings{}}); err != nil || w.Settings.Widget != nil {
			t.Errorf("after {}: widget = %+v, %v; want none", w.Settings.Widget, err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		store := &workspaceStore{ws: &inbox.Workspace{ID: "ws1"}}
		desk := inbox.NewDesk(store, nil, nil, nil)
		for name, w := range map[string]inbox.WidgetSettings{
			"a colour name":       {Color: "red"},
			"three digits":        {Color: "#f80"},
			"not hex":             {Color: "#gg0000"},
			"CSS injection":       {Color: "#000000;background:url(x)"},
			"a long title":        {Title: strings.Repeat("t", 61)},
			"a two-line title":    {Title: "Hello\nthere"},
			"a long greeting":     {Greeting: strings.Repeat("g", 501)},
			"a greeting not UTF8": {Greeting: "\xff"},
		} {
			_, err := desk.UpdateSettings(ctx, admin, inbox.WorkspaceSettingsPatch{Widget: &w})
			var e *inbox.Error
			if !inbox.IsKind(err, inbox.KindInvalid) || !errors.As(err, &e) || e.Field != "widget" {
				t.Errorf("%s: err = %v, want invalid widget", name, err)
			}
		}
		agent := inbox.Actor{WorkspaceID: "ws1", UserID: "u2", Role: inbox.RoleAgent}
		if _, err := desk.UpdateSettings(ctx, agent, inbox.WorkspaceSettingsPatch{Widget: &inbox.WidgetSettings{Title: "Mine"}}); !inbox.IsKind(err, inbox.KindForbidden) {
			t.Errorf("an agent's change: err = %v, want forbidden", err)
		}
		if store.ws.Settings.Widget != nil || store.ws.Version != 0 {
			t.Errorf("a refused change was stored: %+v", store.ws)
		}
	})
}
