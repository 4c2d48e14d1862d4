package inbox

import (
	"testing"
	"time"
)

func TestKeyedIDsAreRecognisedOnlyByTheirKey(t *testing.T) {
	a := Actor{WorkspaceID: "w", UserID: "u"}
	k1, k2 := hashKey(a, "retry-me"), hashKey(a, "another")
	id := k1.newID(time.Now())
	if !ValidID(id) {
		t.Fatalf("keyed id %q is not a ULID", id)
	}
	if !k1.made(id) {
		t.Error("the key does not recognise its own id")
	}
	if k2.made(id) || k1.made(NewID(time.Now())) {
		t.Error("a key recognised an id it did not make")
	}
	other := hashKey(Actor{WorkspaceID: "w", UserID: "someone-else"}, "retry-me")
	if other.made(id) {
		t.Error("the same key from another user matched")
	}
}

func TestRecentRequestsAreBounded(t *testing.T) {
	c := &Conversation{}
	for range maxRecentRequests + 5 {
		c.addClaim(NewID(time.Now()))
	}
	if len(c.RecentRequests) != maxRecentRequests {
		t.Errorf("kept %d claims, want %d", len(c.RecentRequests), maxRecentRequests)
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+14155550100", "(415) 555-0100", "+44 7700 900123", "", "+", "++1", "0000000000000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizePhone("phone", s)
		if err != nil {
			if ErrorKind(err) != KindInvalid {
				t.Fatalf("error kind %q", ErrorKind(err))
			}
			return
		}
		again, err := NormalizePhone("phone", got)
		if err != nil || again != got {
			t.Fatalf("E.164 %q does not normalise to itself: %q, %v", got, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ann@example.com", "Ann <ann@example.com>", "a@b", "\"quoted\"@example.com", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeEmail("email", s)
		if err != nil {
			return
		}
		again, err := NormalizeEmail("email", got)
		if err != nil || again != got {
			t.Fatalf("normalised %q does not normalise to itself: %q, %v", got, again, err)
		}
	})
}
