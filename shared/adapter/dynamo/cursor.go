package dynamo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// cursorCodec turns a LastEvaluatedKey into an opaque, signed token bound
// to one list. A token edited by hand, or replayed against another list or
// workspace, is rejected before it reaches DynamoDB.
type cursorCodec struct{ secret []byte }

type cursorBody struct {
	Scope string            `json:"s"`
	Key   map[string]string `json:"k"`
}

var errBadCursor = inbox.Invalid("cursor", "the cursor is not valid for this list; start again without it")

func (c cursorCodec) encode(scope string, lek map[string]types.AttributeValue) string {
	if len(lek) == 0 {
		return ""
	}
	body := cursorBody{Scope: scope, Key: map[string]string{}}
	for name, v := range lek {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			body.Key[name] = s.Value
		}
	}
	raw, _ := json.Marshal(body)
	return base64.RawURLEncoding.EncodeToString(raw) + "." + base64.RawURLEncoding.EncodeToString(c.mac(raw))
}

// decode verifies a cursor for scope; every key must lie in keyPrefix.
func (c cursorCodec) decode(scope, keyPrefix, token string) (map[string]types.AttributeValue, error) {
	if token == "" {
		return nil, nil
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 2048 {
		return nil, errBadCursor
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(payload)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, c.mac(raw)) {
		return nil, errBadCursor
	}
	var body cursorBody
	if err := json.Unmarshal(raw, &body); err != nil || body.Scope != scope || len(body.Key) == 0 {
		return nil, errBadCursor
	}
	out := make(map[string]types.AttributeValue, len(body.Key))
	for name, v := range body.Key {
		if (name == AttrPK || name == AttrGSI1PK || name == AttrGSI2PK) && !strings.HasPrefix(v, keyPrefix) {
			return nil, errBadCursor
		}
		out[name] = str(v)
	}
	return out, nil
}

func (c cursorCodec) mac(b []byte) []byte {
	h := hmac.New(sha256.New, c.secret)
	h.Write(b)
	return h.Sum(nil)[:16]
}
