package inbox_test

import (
	"testing"
	"unicode/utf8"

	"github.com/parley-inbox/parley/shared/inbox"
)

// TestKeywordVariants lists every seed keyword and the ways people actually
// type them (FCC 2024 revocation rule: any reasonable wording opts out).
func TestKeywordVariants(t *testing.T) {
	tests := []struct {
		body string
		want inbox.KeywordAction
	}{
		// Seed keywords, whole message, any case, padded.
		{"STOP", inbox.KeywordOptOut},
		{"STOPALL", inbox.KeywordOptOut},
		{"END", inbox.KeywordOptOut},
		{"QUIT", inbox.KeywordOptOut},
		{"CANCEL", inbox.KeywordOptOut},
		{"UNSUBSCRIBE", inbox.KeywordOptOut},
		{"UNSTOP", inbox.KeywordOptIn},
		{"START", inbox.KeywordOptIn},
		{"YES", inbox.KeywordOptIn},
		{"HELP", inbox.KeywordHelp},
		{"INFO", inbox.KeywordHelp},
		{" stop ", inbox.KeywordOptOut},
		{"Quit", inbox.KeywordOptOut},
		{"cancel", inbox.KeywordOptOut},
		{"unsubscribe", inbox.KeywordOptOut},
		{"end", inbox.KeywordOptOut},
		{"unstop", inbox.KeywordOptIn},
		// Punctuation, width, invisible characters.
		{"STOP.", inbox.KeywordOptOut},
		{"Stop!", inbox.KeywordOptOut},
		{"stop!!!", inbox.KeywordOptOut},
		{"\"STOP\"", inbox.KeywordOptOut},
		{"ＳＴＯＰ", inbox.KeywordOptOut},
		{"STOP\u200b", inbox.KeywordOptOut},
		{"ST\u200bOP", inbox.KeywordOptOut},
		{"\ufeffSTOP", inbox.KeywordOptOut},
		{"S\u00adTOP", inbox.KeywordOptOut},
		{"Stop 🛑", inbox.KeywordOptOut},
		{"Start.", inbox.KeywordOptIn},
		{"Yes!", inbox.KeywordOptIn},
		{"help?", inbox.KeywordHelp},
		// Other wordings of a revocation.
		{"opt out", inbox.KeywordOptOut},
		{"Opt-out", inbox.KeywordOptOut},
		{"OPTOUT", inbox.KeywordOptOut},
		{"REVOKE", inbox.KeywordOptOut},
		{"revoke.", inbox.KeywordOptOut},
		{"stop all", inbox.KeywordOptOut},
		{"Unsubscribe me", inbox.KeywordOptOut},
		{"Unsubscribe me please", inbox.KeywordOptOut},
		{"Stop sending me these", inbox.KeywordOptOut},
		{"STOP texting me!", inbox.KeywordOptOut},
		{"Stop, please", inbox.KeywordOptOut},
		// A phone's signature after the keyword.
		{"STOP\n\nSent from my iPhone", inbox.KeywordOptOut},
		{"Stop\n-- \nJohn", inbox.KeywordOptOut},
		{"\n  stop.\r\n--\r\nJohn Smith\r\nAcme Corp", inbox.KeywordOptOut},
		// Not revocations: a sentence that is not about opting out.
		{"please stop calling", inbox.NoKeyword},
		{"don't stop", inbox.NoKeyword},
		{"Don’t stop sending these!", inbox.NoKeyword},
		{"cancel my appointment", inbox.NoKeyword},
		{"End of the day works for me", inbox.NoKeyword},
		{"quit it", inbox.NoKeyword},
		{"stopwatch", inbox.NoKeyword},
		{"the bus stop", inbox.NoKeyword},
		{"Hi\nSTOP", inbox.NoKeyword},
		{"", inbox.NoKeyword},
		{"!!!", inbox.NoKeyword},
		// Opt-in and HELP are the whole message: a reply "yes" with more is
		// an answer, not a subscription.
		{"Yes, see you at 5", inbox.NoKeyword},
		{"yes please", inbox.NoKeyword},
		{"START\n\nSent from my iPhone", inbox.NoKeyword},
		{"help me with my order", inbox.NoKeyword},
	}
	for _, tt := range tests {
		if got := inbox.Keyword(tt.body); got != tt.want {
			t.Errorf("Keyword(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func FuzzNormalizeKeyword(f *testing.F) {
	for _, s := range []string{"STOP", "Stop!", "ＳＴＯＰ", "ST\u200bOP", "opt out", "STOP\n\nSent from my iPhone", "don't stop", "ﬀ", "\xff", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		norm := inbox.NormalizeKeywordText(body)
		if !utf8.ValidString(norm) {
			t.Fatalf("NormalizeKeywordText(%q) = %q: not UTF-8", body, norm)
		}
		if again := inbox.NormalizeKeywordText(norm); again != norm {
			t.Fatalf("not idempotent: %q -> %q -> %q", body, norm, again)
		}
		// Whatever the wording, the same normalised text means the same thing.
		if a, b := inbox.Keyword(body), inbox.Keyword(norm); a != b {
			t.Fatalf("Keyword(%q) = %v but Keyword(%q) = %v", body, a, norm, b)
		}
	})
}
