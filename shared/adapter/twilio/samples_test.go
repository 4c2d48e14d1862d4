package twilio_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-inbox/parley/shared/dev/signing"
)

// The samples in ../../../events/twilio-*.json are generated here, so their
// bodies and signatures stay consistent. After changing a sample, run
//
//	go test ./shared/twilio -run TestSamplesAreGenerated -update
var update = flag.Bool("update", false, "rewrite ../../../events/twilio-*.json")

const (
	testToken  = "twilio-test-auth-token"
	publicBase = "https://api.parley.example"
	eventsDir  = "../../../events"

	accountSID = "ACd16c3a35ed0e2b33ff27d4d3ca80aa23"
	contact    = "+14155550142"
	ours       = "+14155550100"

	smsSID       = "SMfc190b21b9eaf768b17cd2884cef5f1e"
	mmsSID       = "MM495c312218502a49cfc3dafffe5c5552"
	stopSID      = "SM9f79db6f7cb26001a84a06ce34a2565e"
	deliveredSID = "SMd80ea2e44e1d9c56a4cff2d9735aeec6"
	failedSID    = "SMc7d304d7825449759f3a423cef9a36ed"
	inCallSID    = "CA3e6043596534c973a0fe8fb53c07df30"
	outCallSID   = "CA9acb45f2b527b31738c0371044e66f96"
	recordingSID = "RE275231f6026e1c64a492b7824b0ae83b"
)

var (
	mediaURL0    = "https://api.twilio.com/2010-04-01/Accounts/" + accountSID + "/Messages/" + mmsSID + "/Media/ME886953279296794edbf4cf01929714d1"
	mediaURL1    = "https://api.twilio.com/2010-04-01/Accounts/" + accountSID + "/Messages/" + mmsSID + "/Media/ME8638d729739a920417653a4a7466dc4d"
	recordingURL = "https://api.twilio.com/2010-04-01/Accounts/" + accountSID + "/Recordings/" + recordingSID
	sampleStart  = time.Date(2026, 11, 21, 9, 30, 0, 0, time.UTC)
)

// sample is one webhook delivery. params alternate name and value, in the
// order Twilio posts them.
type sample struct {
	file    string
	path    string
	minute  int // minutes after sampleStart
	idemKey string
	params  []string
}

func inboundSMS(sid, body string, extra ...string) []string {
	p := []string{
		"ToCountry", "US", "ToState", "CA", "SmsMessageSid", sid, "NumMedia", "0",
		"ToCity", "SAN FRANCISCO", "FromZip", "94105", "SmsSid", sid, "FromState", "CA",
		"SmsStatus", "received", "FromCity", "SAN FRANCISCO", "Body", body, "FromCountry", "US",
		"To", ours, "ToZip", "94105", "NumSegments", "1", "ReferralNumMedia", "0",
		"MessageSid", sid, "AccountSid", accountSID, "From", contact, "ApiVersion", "2010-04-01",
	}
	return append(p, extra...)
}

func callStatus(sid, status, direction, from, to string, extra ...string) []string {
	return append([]string{
		"Called", to, "ToState", "CA", "CallerCountry", "US", "Direction", direction,
		"Timestamp", sampleStart.Add(5 * time.Minute).Format(time.RFC1123Z),
		"CallbackSource", "call-progress-events", "CallerState", "CA", "ToZip", "94105",
		"SequenceNumber", "0", "CallSid", sid, "To", to, "CallerZip", "94105", "ToCountry", "US",
		"CalledZip", "94105", "ApiVersion", "2010-04-01", "CalledCity", "SAN FRANCISCO",
		"CallStatus", status, "From", from, "AccountSid", accountSID, "CalledCountry", "US",
		"CallerCity", "SAN FRANCISCO", "ToCity", "SAN FRANCISCO", "FromCountry", "US",
		"Caller", from, "FromCity", "SAN FRANCISCO", "CalledState", "CA", "FromZip", "94105", "FromState", "CA",
	}, extra...)
}

var samples = []sample{
	{"twilio-sms-inbound.json", "/webhooks/demo/twilio/messages", 1, "c8b78ca8-a097-4610-bcb7-5dd9d0f3dc4c",
		inboundSMS(smsSID, "Hi, is my order #1042 ready for pickup?")},
	{"twilio-mms-inbound.json", "/webhooks/demo/twilio/messages", 2, "9ada4e87-fa7a-4ea0-b6a5-01226a768872",
		[]string{
			"ToCountry", "US", "MediaContentType0", "image/jpeg", "MediaContentType1", "image/png",
			"ToState", "CA", "SmsMessageSid", mmsSID, "NumMedia", "2", "ToCity", "SAN FRANCISCO",
			"FromZip", "94105", "SmsSid", mmsSID, "FromState", "CA", "SmsStatus", "received",
			"FromCity", "SAN FRANCISCO", "Body", "Here's the damaged box & the label", "FromCountry", "US",
			"To", ours, "MediaUrl0", mediaURL0, "MediaUrl1", mediaURL1, "ToZip", "94105",
			"NumSegments", "1", "ReferralNumMedia", "0", "MessageSid", mmsSID, "AccountSid", accountSID,
			"From", contact, "ApiVersion", "2010-04-01",
		}},
	{"twilio-sms-stop.json", "/webhooks/demo/twilio/messages", 3, "2416b9d7-fdb3-47c0-9480-7cd6fc881405",
		inboundSMS(stopSID, "Stop ", "OptOutType", "STOP")},
	{"twilio-sms-status-delivered.json", "/webhooks/demo/twilio/status", 4, "befb91e8-5963-4d90-b6d7-c04e810b4f37",
		[]string{
			"SmsSid", deliveredSID, "SmsStatus", "delivered", "MessageStatus", "delivered", "To", contact,
			"MessageSid", deliveredSID, "AccountSid", accountSID, "From", ours, "ApiVersion", "2010-04-01",
			"RawDlrDoneDate", "2611210934",
		}},
	// 30007 (carrier filtering) comes with status undelivered; Parley calls both failed.
	{"twilio-sms-status-failed.json", "/webhooks/demo/twilio/status", 5, "aa42ca0f-9251-4236-afd0-6985f878cefa",
		[]string{
			"ErrorCode", "30007", "SmsSid", failedSID, "SmsStatus", "undelivered", "MessageStatus", "undelivered",
			"To", contact, "MessageSid", failedSID, "AccountSid", accountSID, "From", ours, "ApiVersion", "2010-04-01",
		}},
	{"twilio-call-completed.json", "/webhooks/demo/twilio/calls", 6, "09e97145-f88a-424e-a8ac-9213a7906d54",
		callStatus(inCallSID, "completed", "inbound", contact, ours,
			"RecordingUrl", recordingURL, "RecordingSid", recordingSID, "RecordingDuration", "190",
			"Duration", "4", "CallDuration", "192")},
	{"twilio-call-no-answer.json", "/webhooks/demo/twilio/calls", 7, "706dcfaa-0a88-4b59-b724-3f950c148028",
		callStatus(outCallSID, "no-answer", "outbound-api", ours, contact,
			"SipResponseCode", "487", "Duration", "0", "CallDuration", "0")},
}

// apiEvent is the API Gateway HTTP API (payload 2.0) event shape; fields
// are declared in the order the existing samples use.
type apiEvent struct {
	Version         string            `json:"version"`
	RouteKey        string            `json:"routeKey"`
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Headers         map[string]string `json:"headers"`
	PathParameters  map[string]string `json:"pathParameters"`
	RequestContext  apiContext        `json:"requestContext"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Body            string            `json:"body"`
}

type apiContext struct {
	AccountID    string  `json:"accountId"`
	APIID        string  `json:"apiId"`
	DomainName   string  `json:"domainName"`
	DomainPrefix string  `json:"domainPrefix"`
	HTTP         apiHTTP `json:"http"`
	RequestID    string  `json:"requestId"`
	RouteKey     string  `json:"routeKey"`
	Stage        string  `json:"stage"`
	Time         string  `json:"time"`
	TimeEpoch    int64   `json:"timeEpoch"`
}

type apiHTTP struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

func (s sample) render() []byte {
	var body strings.Builder
	form := url.Values{}
	for i := 0; i < len(s.params); i += 2 {
		if i > 0 {
			body.WriteByte('&')
		}
		body.WriteString(url.QueryEscape(s.params[i]) + "=" + url.QueryEscape(s.params[i+1]))
		form.Add(s.params[i], s.params[i+1])
	}
	at := sampleStart.Add(time.Duration(s.minute) * time.Minute)
	const sourceIP, agent, route = "198.51.100.23", "TwilioProxy/1.1", "POST /webhooks/{proxy+}"
	ev := apiEvent{
		Version:  "2.0",
		RouteKey: route,
		RawPath:  s.path,
		Headers: map[string]string{
			"accept":                     "*/*",
			"cache-control":              "max-age=259200",
			"content-length":             fmt.Sprint(body.Len()),
			"content-type":               "application/x-www-form-urlencoded",
			"host":                       "api.parley.example",
			"i-twilio-idempotency-token": s.idemKey,
			"user-agent":                 agent,
			"x-amzn-trace-id":            fmt.Sprintf("Root=1-%08x-%s", at.Unix(), strings.ReplaceAll(s.idemKey, "-", "")[:24]),
			"x-forwarded-for":            sourceIP,
			"x-forwarded-port":           "443",
			"x-forwarded-proto":          "https",
			"x-home-region":              "us1",
			"x-twilio-signature":         signing.Twilio(testToken, publicBase+s.path, form),
		},
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(s.path, "/webhooks/")},
		RequestContext: apiContext{
			AccountID:    "123456789012",
			APIID:        "abc123",
			DomainName:   "api.parley.example",
			DomainPrefix: "api",
			HTTP:         apiHTTP{Method: "POST", Path: s.path, Protocol: "HTTP/1.1", SourceIP: sourceIP, UserAgent: agent},
			RequestID:    base64.StdEncoding.EncodeToString([]byte(s.idemKey[:11])),
			RouteKey:     route,
			Stage:        "$default",
			Time:         at.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
		},
		IsBase64Encoded: true,
		Body:            base64.StdEncoding.EncodeToString([]byte(body.String())),
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev); err != nil {
		panic(err)
	}
	return out.Bytes()
}

func TestSamplesAreGenerated(t *testing.T) {
	for _, s := range samples {
		path := filepath.Join(eventsDir, s.file)
		want := s.render()
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator in samples_test.go; rerun with -update", s.file)
		}
	}
}
