package twilio_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

// loadEvent reads a sample event, decodes its form body and checks that
// its signature verifies the way the webhook function will check it.
func loadEvent(tb testing.TB, file string) (events.APIGatewayV2HTTPRequest, url.Values) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, file))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	if !ev.IsBase64Encoded {
		tb.Fatalf("%s: isBase64Encoded = false, want true", file)
	}
	body, err := base64.StdEncoding.DecodeString(ev.Body)
	if err != nil {
		tb.Fatalf("%s: body: %v", file, err)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		tb.Fatalf("%s: form: %v", file, err)
	}
	if !twilio.VerifySignature(testToken, publicURL(ev), form, ev.Headers["x-twilio-signature"]) {
		tb.Fatalf("%s: signature does not verify against %s", file, publicURL(ev))
	}
	return ev, form
}

// publicURL rebuilds the URL Twilio posted to, as the webhook function does.
func publicURL(ev events.APIGatewayV2HTTPRequest) string {
	u := publicBase + ev.RawPath
	if ev.RawQueryString != "" {
		u += "?" + ev.RawQueryString
	}
	return u
}

func assertEqual[T any](t *testing.T, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var e *inbox.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *inbox.Error for %s", err, field)
	}
	if e.Kind != inbox.KindInvalid || e.Field != field {
		t.Errorf("err kind %s field %q, want %s field %q (%v)", e.Kind, e.Field, inbox.KindInvalid, field, err)
	}
}

func TestSampleEventsAreSignedTwilioFormPosts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "twilio-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(samples) {
		t.Errorf("%d twilio-*.json files, %d generated samples", len(files), len(samples))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ev, _ := loadEvent(t, filepath.Base(file))
			assertEqual(t, ev.Version, "2.0")
			assertEqual(t, ev.RouteKey, "POST /webhooks/{proxy+}")
			assertEqual(t, ev.RequestContext.HTTP.Method, "POST")
			assertEqual(t, ev.Headers["content-type"], "application/x-www-form-urlencoded")
			assertEqual(t, ev.Headers["user-agent"], "TwilioProxy/1.1")
			assertEqual(t, ev.Headers["host"], "api.parley.example")
			if ev.Headers["i-twilio-idempotency-token"] == "" {
				t.Error("no i-twilio-idempotency-token header")
			}
			if ev.RequestContext.Authorizer != nil {
				t.Error("a Twilio webhook has no authorizer")
			}
			if !strings.HasPrefix(ev.RawPath, "/webhooks/demo/twilio/") {
				t.Errorf("rawPath = %s", ev.RawPath)
			}
		})
	}
}

func TestParseMessageSamples(t *testing.T) {
	tests := []struct {
		file string
		want inbox.Inbound
	}{
		{"twilio-sms-inbound.json", inbox.Inbound{
			WorkspaceID: "demo", Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, ProviderID: smsSID,
			From: inbox.Correspondent{Phone: contact}, To: ours, Body: "Hi, is my order #1042 ready for pickup?",
		}},
		{"twilio-mms-inbound.json", inbox.Inbound{
			WorkspaceID: "demo", Channel: inbox.ChannelMMS, Kind: inbox.KindMessage, ProviderID: mmsSID,
			From: inbox.Correspondent{Phone: contact}, To: ours, Body: "Here's the damaged box & the label",
			Attachments: []inbox.Attachment{
				{URL: mediaURL0, ContentType: "image/jpeg"},
				{URL: mediaURL1, ContentType: "image/png"},
			},
		}},
		{"twilio-sms-stop.json", inbox.Inbound{
			WorkspaceID: "demo", Channel: inbox.ChannelSMS, Kind: inbox.KindMessage, ProviderID: stopSID,
			From: inbox.Correspondent{Phone: contact}, To: ours, Body: "Stop ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, form := loadEvent(t, tt.file)
			got, err := twilio.ParseMessage("demo", form)
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, got, tt.want)
		})
	}
	_, stop := loadEvent(t, "twilio-sms-stop.json")
	assertEqual(t, stop.Get("OptOutType"), "STOP")
}

func TestParseMessageStatusSamples(t *testing.T) {
	tests := []struct {
		file string
		want inbox.DeliveryUpdate
	}{
		{"twilio-sms-status-delivered.json", inbox.DeliveryUpdate{
			WorkspaceID: "demo", Channel: inbox.ChannelSMS, ProviderID: deliveredSID, Status: inbox.MessageDelivered,
		}},
		{"twilio-sms-status-failed.json", inbox.DeliveryUpdate{
			WorkspaceID: "demo", Channel: inbox.ChannelSMS, ProviderID: failedSID, Status: inbox.MessageFailed,
			ErrorCode: "30007", ErrorReason: "Filtered by the carrier as spam or a carrier violation",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, form := loadEvent(t, tt.file)
			got, track, err := twilio.ParseMessageStatus("demo", form)
			if err != nil || !track {
				t.Fatalf("track %v, err %v; want a tracked update", track, err)
			}
			assertEqual(t, got, tt.want)
		})
	}
}

func TestParseCallStatusSamples(t *testing.T) {
	ended := time.Date(2026, 11, 21, 9, 35, 0, 0, time.UTC)
	tests := []struct {
		file string
		want inbox.Inbound
	}{
		{"twilio-call-completed.json", inbox.Inbound{
			WorkspaceID: "demo", Kind: inbox.KindCall, ProviderID: inCallSID,
			From: inbox.Correspondent{Phone: contact}, To: ours, Body: "Inbound call, 3m 12s", SentAt: ended,
			Call: &inbox.CallDetails{Direction: inbox.DirectionIn, Status: "completed", DurationSeconds: 192, RecordingURL: recordingURL},
		}},
		{"twilio-call-no-answer.json", inbox.Inbound{
			WorkspaceID: "demo", Kind: inbox.KindCall, ProviderID: outCallSID,
			From: inbox.Correspondent{Phone: contact}, To: ours, Body: "Unanswered outbound call (no-answer)", SentAt: ended,
			Call: &inbox.CallDetails{Direction: inbox.DirectionOut, Status: "no-answer"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, form := loadEvent(t, tt.file)
			got, track, err := twilio.ParseCallStatus("demo", form)
			if err != nil || !track {
				t.Fatalf("track %v, err %v; want a tracked call", track, err)
			}
			assertEqual(t, got, tt.want)
		})
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	ev, form := loadEvent(t, "twilio-sms-inbound.json")
	sig := ev.Headers["x-twilio-signature"]
	edited := func(edit func(url.Values)) url.Values {
		f := maps.Clone(form)
		edit(f)
		return f
	}
	tests := []struct {
		name, token, url string
		form             url.Values
		sig              string
	}{
		{"tampered body", testToken, publicURL(ev), edited(func(f url.Values) { f.Set("Body", "Refund me") }), sig},
		{"added field", testToken, publicURL(ev), edited(func(f url.Values) { f.Set("NumMedia", "1") }), sig},
		{"repeated field", testToken, publicURL(ev), edited(func(f url.Values) { f.Add("Body", "extra") }), sig},
		{"wrong token", "another-auth-token", publicURL(ev), form, sig},
		{"no token", "", publicURL(ev), form, sig},
		{"other path", testToken, publicBase + "/webhooks/other/twilio/messages", form, sig},
		{"no signature", testToken, publicURL(ev), form, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if twilio.VerifySignature(tt.token, tt.url, tt.form, tt.sig) {
				t.Error("signature verified, want rejected")
			}
		})
	}
}

func TestVerifySignatureQueryAndPort(t *testing.T) {
	form := url.Values{"MessageSid": {smsSID}, "Body": {"hi"}}
	withQuery := publicBase + "/webhooks/demo/twilio/messages?source=console"
	if !twilio.VerifySignature(testToken, withQuery, form, signing.Twilio(testToken, withQuery, form)) {
		t.Error("URL with a query string: signature rejected")
	}
	// twilio-go also tries the URL with and without the default port.
	plain := publicBase + "/webhooks/demo/twilio/messages"
	withPort := "https://api.parley.example:443/webhooks/demo/twilio/messages"
	if !twilio.VerifySignature(testToken, withPort, form, signing.Twilio(testToken, plain, form)) {
		t.Error("URL with :443: signature rejected")
	}
}

func smsForm() url.Values {
	return url.Values{
		"MessageSid": {smsSID}, "AccountSid": {accountSID},
		"From": {contact}, "To": {ours}, "Body": {"hello"}, "NumMedia": {"0"},
	}
}

func TestParseMessageRejects(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(url.Values)
		field string
	}{
		{"missing MessageSid", func(f url.Values) { f.Del("MessageSid") }, "MessageSid"},
		{"call SID as MessageSid", func(f url.Values) { f.Set("MessageSid", inCallSID) }, "MessageSid"},
		{"short MessageSid", func(f url.Values) { f.Set("MessageSid", "SM123") }, "MessageSid"},
		{"bad AccountSid", func(f url.Values) { f.Set("AccountSid", "AC123") }, "AccountSid"},
		{"missing From", func(f url.Values) { f.Del("From") }, "From"},
		{"From too short", func(f url.Values) { f.Set("From", "+1415555") }, "From"},
		{"From without +", func(f url.Values) { f.Set("From", "4155550142") }, "From"},
		{"WhatsApp From", func(f url.Values) { f.Set("From", "whatsapp:+14155550142") }, "From"},
		{"Body not UTF-8", func(f url.Values) { f.Set("Body", "\xff") }, "Body"},
		{"NumMedia not a number", func(f url.Values) { f.Set("NumMedia", "two") }, "NumMedia"},
		{"NumMedia over 10", func(f url.Values) { f.Set("NumMedia", "11") }, "NumMedia"},
		{"NumMedia larger than the media sent", func(f url.Values) {
			f.Set("NumMedia", "2")
			f.Set("MediaUrl0", mediaURL0)
			f.Set("MediaContentType0", "image/jpeg")
		}, "MediaUrl1"},
		{"http media URL", func(f url.Values) {
			f.Set("NumMedia", "1")
			f.Set("MediaUrl0", "http://api.twilio.com/media.jpg")
			f.Set("MediaContentType0", "image/jpeg")
		}, "MediaUrl0"},
		{"media without a type", func(f url.Values) {
			f.Set("NumMedia", "1")
			f.Set("MediaUrl0", mediaURL0)
		}, "MediaContentType0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := smsForm()
			tt.edit(form)
			_, err := twilio.ParseMessage("demo", form)
			wantInvalid(t, err, tt.field)
		})
	}
}

func TestParseMessageWithoutNumMediaIsSMS(t *testing.T) {
	form := smsForm()
	form.Del("NumMedia")
	got, err := twilio.ParseMessage("demo", form)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, got.Channel, inbox.ChannelSMS)
	assertEqual(t, got.Attachments, nil)
}

func TestParseMessageStatuses(t *testing.T) {
	tests := []struct {
		status string
		want   inbox.MessageStatus // "" when not tracked
	}{
		{"sent", inbox.MessageSent},
		{"delivered", inbox.MessageDelivered},
		{"read", inbox.MessageRead},
		{"undelivered", inbox.MessageFailed},
		{"failed", inbox.MessageFailed},
		{"canceled", inbox.MessageCanceled},
		{"queued", ""},
		{"accepted", ""},
		{"scheduled", ""},
		{"sending", ""},
		{"receiving", ""},
		{"received", ""},
		{"partially_delivered", ""},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			form := url.Values{"MessageSid": {smsSID}, "MessageStatus": {tt.status}}
			got, track, err := twilio.ParseMessageStatus("demo", form)
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, track, tt.want != "")
			if !track {
				assertEqual(t, got, inbox.DeliveryUpdate{})
				return
			}
			assertEqual(t, got, inbox.DeliveryUpdate{WorkspaceID: "demo", Channel: inbox.ChannelSMS, ProviderID: smsSID, Status: tt.want})
		})
	}
}

func TestParseMessageStatusMMS(t *testing.T) {
	form := url.Values{"MessageSid": {mmsSID}, "MessageStatus": {"failed"}, "ErrorCode": {"12345"}}
	got, _, err := twilio.ParseMessageStatus("demo", form)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, got, inbox.DeliveryUpdate{
		WorkspaceID: "demo", Channel: inbox.ChannelMMS, ProviderID: mmsSID, Status: inbox.MessageFailed,
		ErrorCode: "12345", ErrorReason: "Twilio error 12345",
	})
}

func TestParseMessageStatusRejects(t *testing.T) {
	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"missing MessageSid", url.Values{"MessageStatus": {"sent"}}, "MessageSid"},
		{"missing MessageStatus", url.Values{"MessageSid": {smsSID}}, "MessageStatus"},
		{"unknown MessageStatus", url.Values{"MessageSid": {smsSID}, "MessageStatus": {"bounced"}}, "MessageStatus"},
		{"ErrorCode not a number", url.Values{"MessageSid": {smsSID}, "MessageStatus": {"failed"}, "ErrorCode": {"30x07"}}, "ErrorCode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := twilio.ParseMessageStatus("demo", tt.form)
			wantInvalid(t, err, tt.field)
		})
	}
}

func TestReason(t *testing.T) {
	for _, code := range []string{"30003", "30004", "30005", "30006", "30007", "30008", "21610", "21211", "21408", "21614"} {
		if got := twilio.Reason(code); got == "" || strings.HasPrefix(got, "Twilio error") {
			t.Errorf("Reason(%s) = %q, want an explanation", code, got)
		}
	}
	assertEqual(t, twilio.Reason("21610"), "The recipient replied STOP and is unsubscribed")
	assertEqual(t, twilio.Reason("99999"), "Twilio error 99999")
}

func callForm(direction, status string) url.Values {
	return url.Values{
		"CallSid": {inCallSID}, "AccountSid": {accountSID}, "CallStatus": {status},
		"Direction": {direction}, "From": {contact}, "To": {ours},
	}
}

func TestParseCallStatusIgnoresCallsInProgress(t *testing.T) {
	for _, status := range []string{"queued", "ringing", "in-progress"} {
		got, track, err := twilio.ParseCallStatus("demo", callForm("inbound", status))
		if err != nil || track {
			t.Errorf("%s: track %v, err %v; want ignored", status, track, err)
		}
		assertEqual(t, got, inbox.Inbound{})
	}
}

func TestParseCallStatusSummaries(t *testing.T) {
	tests := []struct {
		direction, status, seconds string
		wantBody                   string
		wantDir                    inbox.Direction
	}{
		{"inbound", "completed", "45", "Inbound call, 45s", inbox.DirectionIn},
		{"inbound", "completed", "180", "Inbound call, 3m 0s", inbox.DirectionIn},
		{"inbound", "no-answer", "0", "Missed inbound call (no-answer)", inbox.DirectionIn},
		{"inbound", "busy", "", "Missed inbound call (busy)", inbox.DirectionIn},
		{"outbound-dial", "completed", "3725", "Outbound call, 1h 2m 5s", inbox.DirectionOut},
		{"outbound-api", "failed", "0", "Unanswered outbound call (failed)", inbox.DirectionOut},
	}
	for _, tt := range tests {
		t.Run(tt.direction+" "+tt.status, func(t *testing.T) {
			form := callForm(tt.direction, tt.status)
			if tt.direction != "inbound" {
				form.Set("From", ours)
				form.Set("To", contact)
			}
			if tt.seconds != "" {
				form.Set("CallDuration", tt.seconds)
			}
			got, track, err := twilio.ParseCallStatus("demo", form)
			if err != nil || !track {
				t.Fatalf("track %v, err %v", track, err)
			}
			assertEqual(t, got.Body, tt.wantBody)
			assertEqual(t, got.Call.Direction, tt.wantDir)
			assertEqual(t, got.From.Phone, contact)
			assertEqual(t, got.To, ours)
		})
	}
}

func TestParseCallStatusDropsInsecureRecording(t *testing.T) {
	form := callForm("inbound", "completed")
	form.Set("RecordingUrl", "http://api.twilio.com/2010-04-01/Accounts/"+accountSID+"/Recordings/"+recordingSID)
	got, track, err := twilio.ParseCallStatus("demo", form)
	if err != nil || !track {
		t.Fatalf("track %v, err %v", track, err)
	}
	assertEqual(t, got.Call.RecordingURL, "")
}

func TestParseCallStatusRejects(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(url.Values)
		field string
	}{
		{"message SID as CallSid", func(f url.Values) { f.Set("CallSid", smsSID) }, "CallSid"},
		{"unknown CallStatus", func(f url.Values) { f.Set("CallStatus", "answered") }, "CallStatus"},
		{"unknown Direction", func(f url.Values) { f.Set("Direction", "trunking-originating") }, "Direction"},
		{"client caller", func(f url.Values) { f.Set("From", "client:alice") }, "From"},
		{"SIP callee on an outbound call", func(f url.Values) {
			f.Set("Direction", "outbound-api")
			f.Set("To", "sip:alice@example.com")
		}, "To"},
		{"negative CallDuration", func(f url.Values) { f.Set("CallDuration", "-1") }, "CallDuration"},
		{"Timestamp not a date", func(f url.Values) { f.Set("Timestamp", "yesterday") }, "Timestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := callForm("inbound", "completed")
			tt.edit(form)
			_, _, err := twilio.ParseCallStatus("demo", form)
			wantInvalid(t, err, tt.field)
		})
	}
}
