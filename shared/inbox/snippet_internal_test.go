package inbox

import (
	"strings"
	"testing"
)

func TestSnippetValidate(t *testing.T) {
	ok := func() Snippet {
		return Snippet{Name: " Thanks ", Shortcut: "Thanks", Body: `Hi {{contact.first_name | "there"}}`}
	}
	sn := ok()
	if err := sn.validate(); err != nil {
		t.Fatal(err)
	}
	if sn.Name != "Thanks" || sn.Shortcut != "/thanks" || sn.Category != "General" || sn.Attachments == nil {
		t.Errorf("normalised = %+v, want name trimmed, shortcut /thanks, category General, attachments []", sn)
	}
	img := []Attachment{{URL: "https://cdn.example.com/a.jpg", ContentType: "image/jpeg"}}
	pdf := []Attachment{{URL: "https://cdn.example.com/a.pdf", ContentType: "application/pdf"}}
	for _, tt := range []struct {
		name  string
		edit  func(*Snippet)
		field string
	}{
		{"no name", func(s *Snippet) { s.Name = " " }, "name"},
		{"a # in the name", func(s *Snippet) { s.Name = "a#b" }, "name"},
		{"a control character in the name", func(s *Snippet) { s.Name = "a\x01b" }, "name"},
		{"a long name", func(s *Snippet) { s.Name = strings.Repeat("n", 101) }, "name"},
		{"no shortcut", func(s *Snippet) { s.Shortcut = "" }, "shortcut"},
		{"a space in the shortcut", func(s *Snippet) { s.Shortcut = "/a b" }, "shortcut"},
		{"a long shortcut", func(s *Snippet) { s.Shortcut = "/" + strings.Repeat("a", 33) }, "shortcut"},
		{"a long category", func(s *Snippet) { s.Category = strings.Repeat("c", 51) }, "category"},
		{"an unknown channel", func(s *Snippet) { s.Channel = "fax" }, "channel"},
		{"a body over 5000", func(s *Snippet) { s.Body = strings.Repeat("é", MaxSnippetBody+1) }, "body"},
		{"an empty body", func(s *Snippet) { s.Body = "  " }, "body"},
		{"an unknown tag", func(s *Snippet) { s.Body = "{{contact.nick}}" }, "body"},
		{"an insecure attachment", func(s *Snippet) { s.Attachments = []Attachment{{URL: "http://x", ContentType: "image/png"}} }, "attachments"},
		{"a PDF on SMS", func(s *Snippet) { s.Channel, s.Attachments = ChannelSMS, pdf }, "attachments"},
	} {
		sn := ok()
		tt.edit(&sn)
		err := sn.validate()
		var e *Error
		if !IsKind(err, KindInvalid) || !asErr(err, &e) || e.Field != tt.field {
			t.Errorf("%s: %v, want invalid on %s", tt.name, err, tt.field)
		}
	}
	for name, edit := range map[string]func(*Snippet){
		"5000 characters":            func(s *Snippet) { s.Body = strings.Repeat("é", MaxSnippetBody) },
		"attachments only":           func(s *Snippet) { s.Body, s.Attachments = "", img },
		"an image on an SMS snippet": func(s *Snippet) { s.Channel, s.Attachments = ChannelSMS, img },
		"a PDF on email":             func(s *Snippet) { s.Channel, s.Attachments = ChannelEmail, pdf },
	} {
		sn := ok()
		edit(&sn)
		if err := sn.validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func asErr(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
