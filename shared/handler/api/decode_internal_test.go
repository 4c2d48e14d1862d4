package api

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/handler/problem"
	"github.com/parley-inbox/parley/shared/inbox"
)

func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    inbox.Kind
		field                   string
	}{
		{"ok", "application/json", `{"name":"Ann"}`, "", ""},
		{"charset ok", "application/json; charset=utf-8", `{"name":"Ann"}`, "", ""},
		{"malformed", "application/json", `{"name":`, inbox.KindInvalid, ""},
		{"unknown field", "application/json", `{"name":"Ann","nick":"A"}`, inbox.KindInvalid, "nick"},
		{"wrong type", "application/json", `{"name":5}`, inbox.KindInvalid, "name"},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, inbox.KindInvalid, ""},
		{"empty", "application/json", ``, inbox.KindInvalid, ""},
		{"form", "application/x-www-form-urlencoded", `name=Ann`, problem.KindUnsupportedMediaType, ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, problem.KindTooLarge, ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/contacts", strings.NewReader(tt.body))
		r.Header.Set("Content-Type", tt.contentType)
		var in inbox.ContactInput
		err := decode(r, &in)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var e *inbox.Error
		if inbox.ErrorKind(err) != tt.want {
			t.Errorf("%s: kind %q, want %q", tt.name, inbox.ErrorKind(err), tt.want)
		} else if e = err.(*inbox.Error); e.Field != tt.field {
			t.Errorf("%s: field %q, want %q", tt.name, e.Field, tt.field)
		}
	}
}

// FuzzDecode feeds arbitrary bodies to the strict decoder, seeded with the
// bodies of the sample events.
func FuzzDecode(f *testing.F) {
	samples, _ := filepath.Glob("../../../events/apigw-v2-*.json")
	for _, p := range samples {
		raw, _ := os.ReadFile(p)
		var ev struct {
			Body string `json:"body"`
		}
		if json.Unmarshal(raw, &ev) == nil && ev.Body != "" {
			f.Add([]byte(ev.Body))
		}
	}
	f.Add([]byte(`{"phones":["+14155550100"],"marketing":{"sms":true}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/contacts", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var in inbox.ContactInput
		err := decode(r, &in)
		if err != nil {
			if k := inbox.ErrorKind(err); k != inbox.KindInvalid && k != problem.KindTooLarge {
				t.Fatalf("decode error kind %q: %v", k, err)
			}
			if status := problem.Status(err); status >= 500 {
				t.Fatalf("kind %q has no client status (got %d)", inbox.ErrorKind(err), status)
			}
		}
	})
}
