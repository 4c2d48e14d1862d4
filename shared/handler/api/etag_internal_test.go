package api

import (
	"net/http/httptest"
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestIfMatchHeader(t *testing.T) {
	for _, c := range []struct {
		header string
		want   int64 // -1: no precondition
		ok     bool
	}{
		{"", -1, true},
		{"*", -1, true},
		{`"7"`, 7, true},
		{`W/"7"`, 7, true},
		{` "12" `, 12, true},
		{`7`, 0, false},
		{`"seven"`, 0, false},
		{`"-1"`, 0, false},
		{`""`, 0, false},
		{`"7", "8"`, 0, false},
	} {
		r := httptest.NewRequest("PATCH", "/contacts/x", nil)
		if c.header != "" {
			r.Header.Set("If-Match", c.header)
		}
		v, err := ifMatch(r)
		switch {
		case !c.ok:
			if inbox.ErrorKind(err) != inbox.KindInvalid {
				t.Errorf("If-Match %q: %v, %v; want invalid", c.header, v, err)
			}
		case err != nil:
			t.Errorf("If-Match %q: %v", c.header, err)
		case c.want < 0 && v != nil:
			t.Errorf("If-Match %q = %d, want no precondition", c.header, *v)
		case c.want >= 0 && (v == nil || *v != c.want):
			t.Errorf("If-Match %q = %v, want %d", c.header, v, c.want)
		}
	}
}
