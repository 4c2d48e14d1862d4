package twilio

import (
	"net/url"
	"testing"
)

func TestMediaRedirectHosts(t *testing.T) {
	s := &MediaSource{}
	for raw, want := range map[string]bool{
		"https://mms.twiliocdn.com/AC1/abc":                            true,
		"https://media.twiliocdn.com/AC1/abc":                          true,
		"https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC1/": true,
		"https://s3-external-1.amazonaws.com/someone-elses-bucket/x":   false,
		"http://mms.twiliocdn.com/AC1/abc":                             false,
		"https://mms.twiliocdn.com:8443/AC1/abc":                       false,
		"https://evil.example/media.twiliocdn.com/x":                   false,
		"https://mms.twiliocdn.com.evil.example/x":                     false,
		"https://169.254.169.254/latest/meta-data/":                    false,
		"https://127.0.0.1/x":                                          false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.allowed(u); got != want {
			t.Errorf("allowed(%s) = %v, want %v", raw, got, want)
		}
	}
}
