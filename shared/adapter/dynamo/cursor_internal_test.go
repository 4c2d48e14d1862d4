package dynamo

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var codec = cursorCodec{secret: []byte("secret")}

func sampleKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrPK: str("WS#w1#CONV#c1"), AttrSK: str("#CONV"), AttrGSI1PK: str("WS#w1#INBOX"), AttrGSI1SK: str("01ABC"),
	}
}

func TestCursorRoundTripAndScope(t *testing.T) {
	tok := codec.encode("inbox", sampleKey())
	got, err := codec.decode("inbox", "WS#w1#", tok)
	if err != nil || len(got) != 4 {
		t.Fatalf("decode = %v, %v", got, err)
	}
	if _, err := codec.decode("messages:c1", "WS#w1#", tok); err == nil {
		t.Error("a cursor from the inbox was accepted for a thread")
	}
	if _, err := codec.decode("inbox", "WS#w2#", tok); err == nil {
		t.Error("a cursor from workspace w1 was accepted in w2")
	}
	forged := cursorCodec{secret: []byte("guess")}.encode("inbox", sampleKey())
	if _, err := codec.decode("inbox", "WS#w1#", forged); err == nil {
		t.Error("a cursor signed with another key was accepted")
	}
	payload, sig, _ := strings.Cut(tok, ".")
	if _, err := codec.decode("inbox", "WS#w1#", payload[:len(payload)-2]+"AA."+sig); err == nil {
		t.Error("an edited cursor was accepted")
	}
}

func FuzzCursorDecode(f *testing.F) {
	f.Add(codec.encode("inbox", sampleKey()))
	f.Add("")
	f.Add("a.b")
	f.Add("....")
	f.Fuzz(func(t *testing.T, tok string) {
		key, err := codec.decode("inbox", "WS#w1#", tok)
		if err != nil {
			return
		}
		// Whatever decodes must stay inside the workspace and carry only strings.
		for name, v := range key {
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				t.Fatalf("attribute %s is not a string", name)
			}
			if (name == AttrPK || name == AttrGSI1PK) && !strings.HasPrefix(s.Value, "WS#w1#") {
				t.Fatalf("cursor escaped the workspace: %s=%s", name, s.Value)
			}
		}
	})
}
