package meta_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/meta"
	"github.com/parley-inbox/parley/shared/dev/signing"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "events", "meta-*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no meta samples: %v", err)
	}
	for _, file := range files {
		if body := loadEvent(f, filepath.Base(file)).Body; body != "" {
			f.Add([]byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := meta.Parse("demo", body)
		if err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "meta.")) {
			t.Errorf("problem speaks of Go: %v", err)
		}
		for _, r := range b.Refused {
			if r.Inbound.ProviderID == "" || r.Reason == "" || (r.Inbound.From.Phone == "") == (r.Inbound.From.Handle == "") {
				t.Errorf("refusal without provider id, reason or exactly one sender: %+v", r)
			}
		}
		for _, m := range b.Messages {
			if m.ProviderID == "" {
				t.Errorf("message without ProviderID: %+v", m)
			}
			if (m.From.Phone == "") == (m.From.Handle == "") || m.From.Email != "" {
				t.Errorf("message needs exactly one of Phone or Handle: %+v", m.From)
			}
		}
		for _, s := range b.Statuses {
			if s.ProviderID == "" {
				t.Errorf("status without ProviderID: %+v", s)
			}
		}
		for _, s := range b.Templates {
			if s.Name == "" || s.Language == "" || s.Status == "" || strings.Contains(s.Language, "-") {
				t.Errorf("template status without a name, a template language or a status: %+v", s)
			}
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	ev := loadEvent(f, "meta-whatsapp-text.json")
	f.Add(appSecret, []byte(ev.Body), ev.Headers["x-hub-signature-256"])
	f.Add(appSecret, []byte(ev.Body), ev.Headers["x-hub-signature"])
	f.Add("", []byte{}, "sha256=")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		ok := meta.VerifySignature(secret, body, header)
		if ok && (secret == "" || !strings.HasPrefix(header, "sha256=")) {
			t.Errorf("accepted secret %q header %q", secret, header)
		}
		// A correct signature always verifies.
		if secret != "" && !meta.VerifySignature(secret, body, signing.Meta(secret, body)) {
			t.Errorf("rejected a correct signature for secret %q", secret)
		}
	})
}
