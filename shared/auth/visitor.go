package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/parley-inbox/parley/shared/inbox"
)

// VisitorTokens sign and check web chat visitor tokens: "<visitor id>.<sig>",
// bound to one workspace. The chat routes and the WebSocket authorizer
// both check them.
type VisitorTokens struct {
	Key []byte
}

// Issue returns a token for a visitor of a workspace.
func (v VisitorTokens) Issue(workspaceID, visitorID string) string {
	return visitorID + "." + base64.RawURLEncoding.EncodeToString(v.sign(workspaceID, visitorID))
}

// Verify returns the visitor a token names, if it was issued for this
// workspace.
func (v VisitorTokens) Verify(workspaceID, token string) (visitorID string, ok bool) {
	id, sig, found := strings.Cut(token, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if !found || err != nil || !inbox.ValidID(id) || !hmac.Equal(got, v.sign(workspaceID, id)) {
		return "", false
	}
	return id, true
}

func (v VisitorTokens) sign(workspaceID, visitorID string) []byte {
	m := hmac.New(sha256.New, v.Key)
	m.Write([]byte("parley-webchat\x00" + workspaceID + "\x00" + visitorID))
	return m.Sum(nil)[:18]
}
