package twilio_test

import (
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/inbox"
)

// seedFromSamples adds the form body of every sample event to the corpus.
func seedFromSamples(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(eventsDir, "twilio-*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no sample events: %v", err)
	}
	for _, file := range files {
		ev, _ := loadEvent(f, filepath.Base(file))
		body, _ := base64.StdEncoding.DecodeString(ev.Body) // loadEvent checked it
		f.Add(string(body))
	}
}

// checkRejected requires a rejection to be a KindInvalid error naming a field.
func checkRejected(t *testing.T, err error) {
	t.Helper()
	var e *inbox.Error
	if !errors.As(err, &e) || e.Kind != inbox.KindInvalid || e.Field == "" {
		t.Fatalf("err = %v, want KindInvalid naming a field", err)
	}
}

// checkContact requires an accepted result to carry an id and an E.164 phone.
func checkContact(t *testing.T, in inbox.Inbound) {
	t.Helper()
	if in.ProviderID == "" {
		t.Fatal("accepted with no ProviderID")
	}
	if e164, err := inbox.NormalizePhone("phone", in.From.Phone); err != nil || e164 != in.From.Phone {
		t.Fatalf("Sender.Phone %q is not E.164", in.From.Phone)
	}
}

func FuzzParseMessage(f *testing.F) {
	seedFromSamples(f)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in, err := twilio.ParseMessage("demo", form)
		if err != nil {
			checkRejected(t, err)
			return
		}
		checkContact(t, in)
		for _, a := range in.Attachments {
			if !strings.HasPrefix(a.URL, "https://") {
				t.Fatalf("accepted media URL %q", a.URL)
			}
		}
	})
}

func FuzzParseMessageStatus(f *testing.F) {
	seedFromSamples(f)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		u, track, err := twilio.ParseMessageStatus("demo", form)
		switch {
		case err != nil:
			checkRejected(t, err)
		case track && (u.ProviderID == "" || u.Status == ""):
			t.Fatalf("tracked update without id or status: %+v", u)
		case !track && u != (inbox.DeliveryUpdate{}):
			t.Fatalf("untracked status returned an update: %+v", u)
		}
	})
}

func FuzzParseCallStatus(f *testing.F) {
	seedFromSamples(f)
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		in, track, err := twilio.ParseCallStatus("demo", form)
		switch {
		case err != nil:
			checkRejected(t, err)
		case track:
			checkContact(t, in)
			if in.Call == nil || in.Call.DurationSeconds < 0 {
				t.Fatalf("call details %+v", in.Call)
			}
		}
	})
}
