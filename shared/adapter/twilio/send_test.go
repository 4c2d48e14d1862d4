package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/parley-inbox/parley/shared/adapter/twilio"
	"github.com/parley-inbox/parley/shared/inbox"
)

const (
	sendSID   = "AC0123456789abcdef0123456789abcdef"
	sendToken = "0123456789abcdef0123456789abcdef"
	msgSID    = "SM0123456789abcdef0123456789abcdef"
)

// twilioServer answers like the Messages API after handing each request's
// form to check.
func twilioServer(t *testing.T, status int, body string, check func(r *http.Request, form url.Values)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("form: %v", err)
		}
		if check != nil {
			check(r, r.PostForm)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func sender(baseURL string, acct twilio.Account) *twilio.Sender {
	return &twilio.Sender{
		Accounts: func(ws string) (twilio.Account, error) {
			if ws != "demo" {
				return twilio.Account{}, errors.New("unknown workspace " + ws)
			}
			return acct, nil
		},
		StatusCallback: func(ws, ref string) string {
			return "https://api.parley.example/webhooks/" + ws + "/twilio/status?ref=" + url.QueryEscape(ref)
		},
		BaseURL: baseURL,
	}
}

func outbound(body string, media ...string) inbox.Outbound {
	m := &inbox.Message{ID: "01J0000000000000000000MSG1", ConversationID: "01J0000000000000000000CNV1", Channel: inbox.ChannelSMS, Body: body}
	for _, u := range media {
		m.Channel = inbox.ChannelMMS
		m.Attachments = append(m.Attachments, inbox.Attachment{URL: u, ContentType: "image/jpeg"})
	}
	return inbox.Outbound{WorkspaceID: "demo", Message: m, To: "+14155550123", Ref: inbox.DeliveryRef(m)}
}

const queued = `{"sid": "` + msgSID + `", "account_sid": "` + sendSID + `", "status": "queued", "to": "+14155550123", "from": "+14155550100", "body": "Hi", "num_media": "0", "api_version": "2010-04-01"}`

func TestSendSMS(t *testing.T) {
	out := outbound("Your order shipped")
	srv := twilioServer(t, http.StatusCreated, queued, func(r *http.Request, form url.Values) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sendSID+"/Messages.json" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if user, pass, ok := r.BasicAuth(); !ok || user != sendSID || pass != sendToken {
			t.Errorf("basic auth %q:%q", user, pass)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		want := url.Values{
			"To":             {"+14155550123"},
			"From":           {"+14155550100"},
			"Body":           {"Your order shipped"},
			"StatusCallback": {"https://api.parley.example/webhooks/demo/twilio/status?ref=" + url.QueryEscape(out.Ref)},
		}
		assertEqual(t, form, want)
	})
	id, err := sender(srv.URL, twilio.Account{AccountSID: sendSID, AuthToken: sendToken, From: "+14155550100"}).Send(context.Background(), out)
	if err != nil || id != msgSID {
		t.Fatalf("Send = %q, %v", id, err)
	}
}

func TestSendMMSWithMessagingService(t *testing.T) {
	media := []string{"https://cdn.parley.example/a.jpg", "https://cdn.parley.example/b.png"}
	srv := twilioServer(t, http.StatusCreated, queued, func(r *http.Request, form url.Values) {
		if form.Get("MessagingServiceSid") != "MG0123456789abcdef0123456789abcdef" || form.Has("From") {
			t.Errorf("sender fields %v", form)
		}
		if !slices.Equal(form["MediaUrl"], media) {
			t.Errorf("MediaUrl %q", form["MediaUrl"])
		}
		if form.Has("Body") {
			t.Errorf("empty body sent: %q", form["Body"])
		}
	})
	acct := twilio.Account{AccountSID: sendSID, AuthToken: sendToken, From: "+14155550100", MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"}
	if _, err := sender(srv.URL, acct).Send(context.Background(), outbound("", media...)); err != nil {
		t.Fatal(err)
	}
}

func TestSendErrors(t *testing.T) {
	acct := twilio.Account{AccountSID: sendSID, AuthToken: sendToken, From: "+14155550100"}
	tests := []struct {
		name   string
		status int
		body   string
		want   inbox.SendError
	}{
		{"invalid number", 400, `{"code": 21211, "message": "The 'To' number +1415 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`,
			inbox.SendError{Code: "21211", Reason: "Invalid 'To' phone number"}},
		{"unknown code keeps message", 400, `{"code": 21999, "message": "Something specific", "status": 400}`,
			inbox.SendError{Code: "21999", Reason: "Something specific"}},
		{"throttled", 429, `{"code": 20429, "message": "Too Many Requests", "status": 429}`,
			inbox.SendError{Code: "20429", Reason: "Too Many Requests", Retryable: true}},
		{"server error", 500, `{"code": 20500, "message": "Internal Server Error", "status": 500}`,
			inbox.SendError{Code: "20500", Reason: "Internal Server Error", Retryable: true}},
		{"proxy page", 503, `<html>Service Unavailable</html>`,
			inbox.SendError{Code: "http_503", Reason: "Twilio answered HTTP 503", Retryable: true}},
		{"gateway timeout may have sent", 504, `<html>Gateway Timeout</html>`,
			inbox.SendError{Code: "http_504", Reason: "Twilio answered HTTP 504"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := twilioServer(t, tt.status, tt.body, nil)
			_, err := sender(srv.URL, acct).Send(context.Background(), outbound("hi"))
			var se *inbox.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SendError", err)
			}
			assertEqual(t, *se, tt.want)
		})
	}
}

func TestSendConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = sender("http://"+addr, twilio.Account{AccountSID: sendSID, AuthToken: sendToken, From: "+14155550100"}).Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("err = %v, want a retryable SendError", err)
	}
}

func TestSendUnansweredIsNotRetryable(t *testing.T) {
	// The server takes the request and drops the connection: Twilio may
	// have created the message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	_, err := sender(srv.URL, twilio.Account{AccountSID: sendSID, AuthToken: sendToken, From: "+14155550100"}).Send(context.Background(), outbound("hi"))
	var se *inbox.SendError
	if err == nil || (errors.As(err, &se) && se.Retryable) {
		t.Fatalf("err = %v, want a non-retryable error", err)
	}
}

func TestSendUsesContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := twilioServer(t, http.StatusCreated, queued, func(*http.Request, url.Values) { t.Error("request sent with a canceled context") })
	if _, err := sender(srv.URL, twilio.Account{AccountSID: sendSID, AuthToken: sendToken, From: "+14155550100"}).Send(ctx, outbound("hi")); err == nil {
		t.Fatal("Send succeeded with a canceled context")
	}
}

func TestSendWithoutAccount(t *testing.T) {
	out := outbound("hi")
	out.WorkspaceID = "other"
	_, err := sender("", twilio.Account{}).Send(context.Background(), out)
	var se *inbox.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != "not_configured" {
		t.Fatalf("err = %v, want a final not_configured SendError", err)
	}
}
