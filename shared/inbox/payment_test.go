package inbox_test

import (
	"testing"

	"github.com/parley-inbox/parley/shared/inbox"
)

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{1200, "usd", "$12.00"}, {5, "usd", "$0.05"}, {99999999, "eur", "€999999.99"}, {1500, "jpy", "¥1500"},
		{2599, "gbp", "£25.99"}, {1000, "chf", "10.00 CHF"}, {120, "cad", "1.20 CAD"}, {7, "krw", "₩7"},
	} {
		if got := inbox.FormatAmount(tc.amount, tc.currency); got != tc.want {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tc.amount, tc.currency, got, tc.want)
		}
	}
}
