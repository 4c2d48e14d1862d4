package inbox

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// KeywordAction is what an SMS consisting of a carrier keyword asks for.
type KeywordAction int

const (
	NoKeyword KeywordAction = iota
	KeywordOptOut
	KeywordOptIn
	KeywordHelp
)

// keywords are the whole (normalised) messages carriers and CTIA expect,
// plus the other wordings of a revocation the FCC's 2024 rule counts as
// reasonable ("opt out", "revoke").
var keywords = map[string]KeywordAction{
	"STOP": KeywordOptOut, "STOPALL": KeywordOptOut, "END": KeywordOptOut, "QUIT": KeywordOptOut,
	"CANCEL": KeywordOptOut, "UNSUBSCRIBE": KeywordOptOut, "REVOKE": KeywordOptOut, "OPTOUT": KeywordOptOut,
	"OPT OUT": KeywordOptOut,
	"START":   KeywordOptIn, "UNSTOP": KeywordOptIn, "YES": KeywordOptIn,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// optOutLeads are the words that opt out when a message starts with them
// ("Stop sending me these", "Unsubscribe me please"). END, QUIT and CANCEL
// are not among them: "cancel my appointment" is an answer, not a revocation.
var optOutLeads = []string{"STOP", "UNSUBSCRIBE"}

// Keyword reads an SMS body as a keyword.
func Keyword(body string) KeywordAction {
	action, _ := ReadKeyword(body)
	return action
}

// ReadKeyword reads an SMS body as a keyword and returns the keyword
// matched. The body is normalised first (NormalizeKeywordText), then:
//
//   - The whole message is a keyword: its action (STOP, START, HELP, ...).
//   - Opting out is read generously, because wrongly honouring a revocation
//     costs one START while ignoring one breaks the law: the first line
//     alone is an opt-out keyword (later lines are taken for a phone's
//     signature, "Sent from my iPhone", "-- John"), or the first line starts
//     with STOP or UNSUBSCRIBE ("Stop sending me these").
//   - Opting in and HELP are read strictly, as the whole message: "Yes, see
//     you at 5" answers a question and must not subscribe anyone.
//
// A message whose first word is something else ("don't stop", "please stop
// calling") is a message for the team, not a keyword.
func ReadKeyword(body string) (KeywordAction, string) {
	text := NormalizeKeywordText(body)
	if action, ok := keywords[text]; ok {
		return action, text
	}
	first, _, _ := strings.Cut(text, "\n")
	if keywords[first] == KeywordOptOut {
		return KeywordOptOut, first
	}
	lead, _, _ := strings.Cut(first, " ")
	for _, w := range optOutLeads {
		if lead == w {
			return KeywordOptOut, lead
		}
	}
	return NoKeyword, ""
}

// NormalizeKeywordText is the form keywords are matched in: NFKC (full-width
// and styled letters become plain ones), format characters such as
// zero-width spaces, joiners and soft hyphens dropped, upper case, every run
// of punctuation, symbols and spaces one space, each line trimmed, and empty
// lines dropped. Lines are kept, separated by "\n".
func NormalizeKeywordText(body string) string {
	// Invisible characters and invalid bytes go before normalising: dropped
	// afterwards, they could join a letter to a combining mark that NFKC
	// would then compose on the next call. Case mapping can leave text that
	// NFKC changes again (and vice versa); a second pass makes the result a
	// fixed point.
	body = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, body)
	s := norm.NFKC.String(strings.ToUpper(norm.NFKC.String(body)))
	var lines []string
	var b strings.Builder
	space := false
	endLine := func() {
		if b.Len() > 0 {
			lines = append(lines, b.String())
		}
		b.Reset()
		space = false
	}
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == '\u0085' || r == '\u2028' || r == '\u2029':
			endLine()
		case unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar:
			// invisible: a zero-width space inside STOP is still STOP
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	endLine()
	return strings.Join(lines, "\n")
}
