package inbox

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWebhookBackoffSpansThreeDaysWhateverTheJitter(t *testing.T) {
	var least, most time.Duration
	for _, d := range WebhookBackoff {
		least += d - d/4
		most += d
	}
	if least < 72*time.Hour {
		t.Errorf("shortest schedule %v, want at least 3 days", least)
	}
	s := &Integrations{}
	for n := 1; n <= len(WebhookBackoff); n++ {
		d := WebhookBackoff[n-1]
		for range 50 {
			if got := s.backoff(n); got < d-d/4 || got > d {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, d-d/4, d)
			}
		}
	}
	scaled := &Integrations{BackoffScale: 0.001}
	if got := scaled.backoff(len(WebhookBackoff)); got > 87*time.Second {
		t.Errorf("scaled last wait %v, want at most 86.4 s", got)
	}
	t.Logf("retries span %v to %v", least, most)
}

func TestExcerptKeepsAValidKB(t *testing.T) {
	for _, body := range []string{strings.Repeat("é", 600), strings.Repeat("a", 1023) + "€€", "\xff\xfeok", ""} {
		got := excerpt(body)
		if len(got) > WebhookExcerptBytes || !utf8.ValidString(got) {
			t.Errorf("excerpt of %d bytes: %d bytes, valid %v", len(body), len(got), utf8.ValidString(got))
		}
	}
	if got := excerpt(strings.Repeat("a", 1023) + "€"); got != strings.Repeat("a", 1023) {
		t.Errorf("a rune across the cut is dropped, not split: got %d bytes", len(got))
	}
}
