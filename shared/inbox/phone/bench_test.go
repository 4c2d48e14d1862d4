package phone

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

var benchInputs = []string{"+14155550123", "(415) 555-0123", "+442079460018", "+819012345678"}

func BenchmarkParseValidE164(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		n, err := Parse(benchInputs[i%len(benchInputs)], "US")
		if err != nil || !n.Valid() || n.E164() == "" {
			b.Fatal(benchInputs[i%len(benchInputs)])
		}
	}
}

func BenchmarkNyarukaParseValidE164(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		n, err := phonenumbers.Parse(benchInputs[i%len(benchInputs)], "US")
		if err != nil || !phonenumbers.IsValidNumber(n) || phonenumbers.Format(n, phonenumbers.E164) == "" {
			b.Fatal(benchInputs[i%len(benchInputs)])
		}
	}
}
