package webhooks

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

func visitorRequest(ws, token string) *http.Request {
	r := httptest.NewRequest("GET", "/chat/"+ws+"/messages", nil)
	r.SetPathValue("workspaceId", ws)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func TestVisitorTokensAreBoundToTheirWorkspace(t *testing.T) {
	c := &Chat{Key: []byte("k")}
	id := inbox.NewID(time.Now())
	tok := c.token("ws1", id)
	handle, err := c.visitor(visitorRequest("ws1", tok))
	if err != nil || handle != "webchat:"+id {
		t.Fatalf("visitor = %q, %v", handle, err)
	}
	if _, err := c.visitor(visitorRequest("ws2", tok)); err == nil {
		t.Error("a token from ws1 was accepted in ws2")
	}
	if _, err := (&Chat{Key: []byte("other")}).visitor(visitorRequest("ws1", tok)); err == nil {
		t.Error("a token signed with another key was accepted")
	}
}

func FuzzVisitorToken(f *testing.F) {
	c := &Chat{Key: []byte("k")}
	f.Add(c.token("ws1", inbox.NewID(time.Now())))
	f.Add("")
	f.Add("01ARZ3NDEKTSV4RRFFQ69G5FAV.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		handle, err := c.visitor(visitorRequest("ws1", tok))
		if err == nil && (len(handle) != len("webchat:")+26 || c.token("ws1", handle[len("webchat:"):]) == "") {
			t.Fatalf("accepted %q as %q", tok, handle)
		}
	})
}
