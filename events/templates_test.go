package events_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/dev/dynamotest"
	"github.com/parley-inbox/parley/shared/dev/inboxtest"
	"github.com/parley-inbox/parley/shared/dev/localstack"
	"github.com/parley-inbox/parley/shared/handler/webhooks"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The signed message_template_status_update sample approves the demo
// workspace's pending order_update template, once however often Meta
// redelivers it, and only from the workspace's own Business Account.
func TestTemplateStatusSample(t *testing.T) {
	for _, c := range []struct {
		name, waba string
		want       inbox.TemplateStatus
	}{
		{"the workspace's account", "102290129340398", inbox.TemplateApproved},
		{"no account configured", "", inbox.TemplateApproved},
		{"another account", "999999999999999", inbox.TemplatePending},
	} {
		t.Run(c.name, func(t *testing.T) {
			store := dynamotest.Store(t)
			ctx := context.Background()
			if err := localstack.Seed(ctx, store); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			tpl := &inbox.MessageTemplate{ID: "whatsapp.order_update.en_US", WorkspaceID: localstack.DemoWorkspace, Channel: inbox.ChannelWhatsApp,
				Name: "order_update", Language: "en_US", Category: inbox.CategoryUtility, Variables: 2, Status: inbox.TemplatePending,
				ProviderID: "1627019861106475", Components: []inbox.TemplateComponent{{Type: "body", Text: "Order {{1}} is {{2}}", Example: []string{"4411", "shipped"}}},
				CreatedAt: now, UpdatedAt: now}
			if err := store.CreateTemplate(ctx, tpl); err != nil {
				t.Fatal(err)
			}
			h := &webhooks.Handler{
				Intake:      inboxtest.New(store, inboxtest.Deps{}).Intake,
				Credentials: providers.Set{localstack.DemoWorkspace: {MetaAppSecret: "meta-test-app-secret", WhatsAppBusinessAccountID: c.waba}},
				PublicURL:   "https://api.parley.example",
				Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			handler := httpadapter.NewV2(h.Routes()).ProxyWithContext
			ev := readEvent(t, "meta-template-status-approved.json")
			var version int64
			for i := range 2 {
				res, err := handler(ctx, ev)
				if err != nil || res.StatusCode != http.StatusOK || res.Body != "EVENT_RECEIVED" {
					t.Fatalf("delivery %d: %d %q %v", i+1, res.StatusCode, res.Body, err)
				}
				got, err := store.GetTemplate(ctx, localstack.DemoWorkspace, tpl.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != c.want || got.Reason != "" {
					t.Fatalf("delivery %d: template %s, want %s", i+1, got.Status, c.want)
				}
				if i == 1 && got.Version != version {
					t.Errorf("the redelivery rewrote the template: version %d, then %d", version, got.Version)
				}
				version = got.Version
			}
		})
	}
}
