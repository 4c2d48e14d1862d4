package inbox

import "strings"

// KeywordAction is what an SMS consisting of a carrier keyword asks for.
type KeywordAction int

const (
	NoKeyword KeywordAction = iota
	KeywordOptOut
	KeywordOptIn
	KeywordHelp
)

// keywords are matched against the whole message, trimmed, in any case, as
// carriers and CTIA guidelines expect.
var keywords = map[string]KeywordAction{
	"STOP": KeywordOptOut, "STOPALL": KeywordOptOut, "END": KeywordOptOut, "QUIT": KeywordOptOut,
	"CANCEL": KeywordOptOut, "UNSUBSCRIBE": KeywordOptOut,
	"START": KeywordOptIn, "UNSTOP": KeywordOptIn, "YES": KeywordOptIn,
	"HELP": KeywordHelp, "INFO": KeywordHelp,
}

// Keyword reads an SMS body as a keyword.
func Keyword(body string) KeywordAction { return keywords[strings.ToUpper(strings.TrimSpace(body))] }
