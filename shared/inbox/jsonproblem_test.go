package inbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/inbox"
)

// A request shape with every kind of field a handler decodes.
type jsonShape struct {
	Name    string            `json:"name"`
	Count   int               `json:"count"`
	Size    uint              `json:"size"`
	Ratio   float64           `json:"ratio"`
	On      *bool             `json:"on"`
	Tags    []string          `json:"tags"`
	Flags   map[string]bool   `json:"flags"`
	At      time.Time         `json:"at"`
	Raw     []byte            `json:"raw"`
	Num     json.Number       `json:"num"`
	Nested  struct{ X int64 } `json:"nested"`
	Entries []struct {
		ID string `json:"id"`
	} `json:"entries"`
}

func TestJSONProblemSpeaksOfTheRequest(t *testing.T) {
	tests := []struct {
		body, at, field, want string
	}{
		{`{"name":5}`, "", "name", "name must be a string, not a number"},
		{`{"count":1.5}`, "", "count", "count must be a whole number, not the number 1.5"},
		{`{"size":-1}`, "", "size", "size must be a whole number of zero or more, not the number -1"},
		{`{"ratio":"x"}`, "", "ratio", "ratio must be a number, not a string"},
		{`{"on":"yes"}`, "", "on", "on must be true or false, not a string"},
		{`{"tags":"vip"}`, "", "tags", "tags must be an array, not a string"},
		{`{"flags":[true]}`, "", "flags", "flags must be an object, not an array"},
		{`{"raw":5}`, "", "raw", "raw must be a base64 string, not a number"},
		{`{"num":true}`, "", "num", "num must be a number, not true or false"},
		{`{"nested":{"X":"1"}}`, "", "nested.X", "nested.X must be a whole number, not a string"},
		{`{"entries":[{"id":1}]}`, "entry[3]", "entry[3].entries.id", "entry[3].entries.id must be a string, not a number"},
		{`[1]`, "", "", "the body must be an object, not an array"},
		{`[1]`, "entry[0].value", "entry[0].value", "entry[0].value must be an object, not an array"},
		{`{"name":`, "", "", "the JSON is empty or cut short"},
		{`{"name" 1}`, "", "", "malformed JSON at byte 9"},
	}
	for _, tt := range tests {
		var v jsonShape
		err := inbox.JSONProblem(json.Unmarshal([]byte(tt.body), &v), tt.at)
		if err.Kind != inbox.KindInvalid || err.Field != tt.field || err.Message != tt.want {
			t.Errorf("%s at %q: %+v, want field %q and %q", tt.body, tt.at, err, tt.field, tt.want)
		}
	}
	dec := json.NewDecoder(strings.NewReader(`{"nick":"A"}`))
	dec.DisallowUnknownFields()
	var v jsonShape
	if err := inbox.JSONProblem(dec.Decode(&v), ""); err.Field != "nick" || err.Message != `unknown field "nick"` {
		t.Errorf("unknown field: %+v", err)
	}
	own := inbox.Invalid("x", "mine")
	if got := inbox.JSONProblem(own, ""); got != own {
		t.Errorf("a domain error is passed through: %+v", got)
	}
}

// goWords are what encoding/json's own messages say and a request's
// problem never may.
var goWords = []string{"Go ", "struct", "slice", "map[", "int64", "float64", "uint", "ptr", "interface", "jsonShape", "inbox."}

func FuzzJSONProblem(f *testing.F) {
	for _, s := range []string{`{"name":5}`, `{"tags":"x"}`, `{"nested":{"X":"1"}}`, `[1]`, `{"at":5}`, `{"entries":[{"id":[]}]}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v jsonShape
		err := json.Unmarshal(body, &v)
		if err == nil {
			return
		}
		p := inbox.JSONProblem(err, "body")
		if p.Kind != inbox.KindInvalid || p.Message == "" {
			t.Fatalf("%q: %+v", body, p)
		}
		for _, w := range goWords {
			if strings.Contains(p.Message, w) {
				t.Errorf("%q: problem %q speaks of Go (%q)", body, p.Message, w)
			}
		}
	})
}
