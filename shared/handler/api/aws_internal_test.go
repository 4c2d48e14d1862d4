package api

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-inbox/parley/shared/config/providers"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The provider secret is read on the first template call, once; a failed
// read is unavailable and tried again on the next call.
func TestLazyCredentials(t *testing.T) {
	calls, fail := 0, true
	l := &lazyCredentials{providers.Lazy{Fetch: func(context.Context) (providers.Set, error) {
		calls++
		if fail {
			return nil, errors.New("throttled")
		}
		return providers.Set{"ws": {WhatsAppToken: "tok", WhatsAppPhoneNumberID: "123"}}, nil
	}}}
	if _, err := l.Meta("ws"); !inbox.IsKind(err, inbox.KindUnavailable) {
		t.Fatalf("a failed read = %v, want unavailable", err)
	}
	fail = false
	for range 3 {
		if a, err := l.Meta("ws"); err != nil || a.WhatsAppToken != "tok" {
			t.Fatalf("Meta = %+v, %v", a, err)
		}
	}
	if calls != 2 {
		t.Errorf("the secret was read %d times, want 2 (the failure, then once)", calls)
	}
}
