// Command load fires signed inbound Twilio SMS (or WhatsApp, or email as
// SES delivers it through SNS) webhooks at a local Parley stack, with exact duplicates interleaved, then checks through the API
// that every conversation holds exactly the distinct messages sent. It
// prints throughput, latency, status counts, lost and duplicated counts,
// and the CPU-ms per request of the server and of DynamoDB Local.
//
// By default it builds and starts functions/local (in-memory DynamoDB
// Local, a temporary data directory). PARLEY_LOAD_BASE_URL and
// PARLEY_LOAD_DATA_DIR point it at a running server instead (loopback
// only); -pid names that server's process for the CPU figures.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/dev/devauth"
	"github.com/parley-inbox/parley/shared/dev/signing"
	"github.com/parley-inbox/parley/shared/inbox"
)

// The seeded workspace and admin (shared/dev/localstack), and our number.
const (
	workspace = "demo"
	adminUser = "admin-demo"
	ourNumber = "+14155550100"
)

// Caps keep a typo from turning the harness into a flood.
const (
	maxMessages    = 100_000
	maxContacts    = 10_000
	maxConcurrency = 64
)

type options struct {
	n, contacts, c int
	dupWindow      int
	timeout        time.Duration
	channel        string
	publicURL      string
	pid            int
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 2000, "distinct messages to send (10% more are sent as exact duplicates)")
	flag.IntVar(&o.contacts, "contacts", 200, "distinct senders (phone numbers, or loadN@example.com addresses) the messages spread over")
	flag.IntVar(&o.c, "c", 8, "concurrent requests")
	flag.IntVar(&o.dupWindow, "dup-window", 100, "a duplicate follows its first copy within this many requests, as a provider's quick redelivery does (0: anywhere in the run)")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "the most firing and verifying may take (the stack's start is not counted)")
	flag.StringVar(&o.channel, "channel", "sms", "inbound channel to drive: sms (Twilio), whatsapp (Meta) or email (SES through SNS)")
	flag.StringVar(&o.publicURL, "public-url", "https://api.parley.example", "the server's PARLEY_PUBLIC_URL, which Twilio signs")
	flag.IntVar(&o.pid, "pid", 0, "pid of the server under PARLEY_LOAD_BASE_URL, for its CPU figures")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ok, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.channel != "sms" && o.channel != "whatsapp" && o.channel != "email":
		return fmt.Errorf("-channel %q is not supported; use sms, whatsapp or email", o.channel)
	case o.n < 1 || o.n > maxMessages:
		return fmt.Errorf("-n must be 1..%d", maxMessages)
	case o.contacts < 1 || o.contacts > maxContacts || o.contacts > o.n:
		return fmt.Errorf("-contacts must be 1..%d and at most -n", maxContacts)
	case o.c < 1 || o.c > maxConcurrency:
		return fmt.Errorf("-c must be 1..%d", maxConcurrency)
	case o.dupWindow < 0:
		return errors.New("-dup-window must be 0 or more")
	case o.timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	return nil
}

func run(o options) (bool, error) {
	s, err := target(o)
	if err != nil {
		return false, err
	}
	if s.stop != nil {
		defer s.stop()
	}
	creds, err := readProviders(s.dataDir)
	if err != nil {
		return false, err
	}
	key, err := os.ReadFile(filepath.Join(s.dataDir, "dev-signing-key"))
	if err != nil {
		return false, fmt.Errorf("read the development signing key: %w", err)
	}
	token, err := devauth.Tokens{Key: key}.Issue(workspace, adminUser, inbox.RoleAdmin, 2*o.timeout)
	if err != nil {
		return false, err
	}

	plan, err := newPlan(o.n, o.contacts, o.dupWindow, o.channel)
	if err != nil {
		return false, err
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.c * 2, MaxIdleConnsPerHost: o.c * 2, IdleConnTimeout: time.Minute}}
	f := &firer{base: s.baseURL, signURL: strings.TrimRight(o.publicURL, "/") + "/webhooks/" + workspace + "/twilio/messages",
		authToken: creds.TwilioAuthToken, appSecret: creds.MetaAppSecret, topicARN: creds.SNSTopicARN, channel: o.channel, client: client}
	if o.channel == "whatsapp" && f.appSecret == "" {
		return false, fmt.Errorf("providers.json has no Meta app secret for workspace %q", workspace)
	}
	if o.channel == "email" {
		if f.notes, err = stageEmail(plan, s.dataDir, creds.SNSTopicARN); err != nil {
			return false, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	javaPid := javaDescendant(s.pid)
	serverBefore, javaBefore := cpuMillis(s.pid), cpuMillis(javaPid)
	senders := "numbers"
	if o.channel == "email" {
		senders = "addresses"
	}
	fmt.Printf("load: %s, %d distinct %s messages + %d duplicates from %d %s, concurrency %d\n",
		s.baseURL, o.n, o.channel, len(plan.requests)-o.n, o.contacts, senders, o.c)
	res := f.fire(ctx, plan.requests, o.c)
	serverAfter, javaAfter := cpuMillis(s.pid), cpuMillis(javaPid)

	res.print()
	fmt.Printf("cpu: server %s, DynamoDB Local %s (CPU-ms per request; %d Hz ticks)\n",
		perRequest(serverBefore, serverAfter, res.sent), perRequest(javaBefore, javaAfter, res.sent), clockTicks)

	if res.sent < len(plan.requests) {
		fmt.Printf("load: FAILED: -timeout %s ended the run after %d of %d requests\n", o.timeout, res.sent, len(plan.requests))
		return false, nil
	}
	v := &verifier{base: s.baseURL, token: token, client: client}
	lostSids, dupSids, err := v.verify(ctx, plan, o.c)
	if err != nil {
		return false, fmt.Errorf("verify: %w", err)
	}
	lost, dup := len(lostSids), len(dupSids)
	fmt.Printf("verify: %d conversations checked; lost %d, duplicated %d\n", plan.contacts(), lost, dup)
	if dup > 0 {
		fewest := -1
		for _, sid := range dupSids {
			if g := plan.threadGap(sid); fewest < 0 || g < fewest {
				fewest = g
			}
		}
		fmt.Printf("verify: every duplicated message had at least %d messages of its thread sent between its copies, e.g. %s\n",
			fewest, strings.Join(dupSids[:min(dup, 3)], " "))
	}
	for _, sid := range lostSids[:min(lost, 3)] {
		fmt.Printf("  lost: %s\n", sid)
	}
	non2xx := res.non2xx()
	ok := lost == 0 && dup == 0 && non2xx == 0 && res.sent == len(plan.requests)
	if !ok {
		fmt.Printf("load: FAILED (lost %d, duplicated %d, non-2xx %d, not sent %d)\n", lost, dup, non2xx, len(plan.requests)-res.sent)
	} else {
		fmt.Println("load: ok")
	}
	return ok, nil
}

// target is the server under load: one this command starts, or the one the
// environment names, which must be on loopback.
func target(o options) (*stack, error) {
	if base := os.Getenv("PARLEY_LOAD_BASE_URL"); base != "" {
		dataDir := os.Getenv("PARLEY_LOAD_DATA_DIR")
		if dataDir == "" {
			return nil, errors.New("PARLEY_LOAD_BASE_URL is set but PARLEY_LOAD_DATA_DIR is not; it must name the server's PARLEY_DATA_DIR")
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("PARLEY_LOAD_BASE_URL: %w", err)
		}
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("PARLEY_LOAD_BASE_URL %q is not on loopback; the harness only loads this machine", base)
		}
		base = strings.TrimRight(base, "/")
		if err := waitReady(base, nil, 10*time.Second); err != nil {
			return nil, err
		}
		return &stack{baseURL: base, dataDir: dataDir, pid: o.pid}, nil
	}
	tmp, err := os.MkdirTemp("", "parley-load-")
	if err != nil {
		return nil, err
	}
	s, err := startStack(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start the local stack: %w", err)
	}
	stop := s.stop
	s.stop = func() { stop(); os.RemoveAll(tmp) }
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func perRequest(before, after float64, requests int) string {
	if before < 0 || after < 0 || requests == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", (after-before)/float64(requests))
}

// inboundMessage is one distinct message a contact sends. sid is the
// provider's id that the inbox files it under: Twilio's MessageSid, the
// WhatsApp wamid, or the email's Message-ID. An email also has SES's id
// for its delivery, SNS's id for the notification, and its arrival time.
type inboundMessage struct {
	sid, from, body string
	sesID, snsID    string
	at              time.Time
}

// plan is what the run sends: every distinct message once, in a random
// order, and 10% of them a second time, each within window requests after
// its first copy (anywhere in the run when window is 0).
type plan struct {
	messages []inboundMessage
	requests []inboundMessage
	bySender map[string][]inboundMessage
}

func (p *plan) contacts() int { return len(p.bySender) }

func newPlan(n, contacts, window int, channel string) (*plan, error) {
	run := randHex(8)
	// A random exchange keeps runs against one server apart.
	exchange := 220 + rand.IntN(660)
	if exchange%100 == 11 || exchange == 555 {
		exchange++
	}
	senders := make([]string, contacts)
	for i := range senders {
		if channel == "email" {
			senders[i] = emailSender(i)
			continue
		}
		p, err := inbox.NormalizePhone("From", fmt.Sprintf("+1415%03d%04d", exchange, i))
		if err != nil {
			return nil, fmt.Errorf("generated phone number: %w", err)
		}
		senders[i] = p
	}
	p := &plan{bySender: map[string][]inboundMessage{}}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := 0; i < n; i++ {
		m := inboundMessage{sid: "SM" + randHex(32), from: senders[i%contacts], body: fmt.Sprintf("load %s message %d", run, i)}
		switch channel {
		case "whatsapp":
			m.sid = "wamid." + base64.StdEncoding.EncodeToString([]byte("load-"+randHex(24)))
		case "email":
			// Fresh ids: a run never repeats another's, even with the same senders.
			m.sid = randHex(32) + "@load.parley.example"
			m.sesID, m.snsID, m.at = randHex(40), uuid(), now
		}
		p.messages = append(p.messages, m)
		p.bySender[m.from] = append(p.bySender[m.from], m)
	}
	type slot struct {
		at float64
		m  inboundMessage
	}
	slots := make([]slot, 0, n+n/10)
	order := rand.Perm(n)
	for pos, i := range order {
		slots = append(slots, slot{float64(pos), p.messages[i]})
	}
	for _, pos := range rand.Perm(n)[:n/10] {
		at := rand.Float64() * float64(n)
		if window > 0 {
			at = float64(pos) + 0.5 + float64(rand.IntN(window))
		}
		slots = append(slots, slot{at, p.messages[order[pos]]})
	}
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].at < slots[j].at })
	for _, sl := range slots {
		p.requests = append(p.requests, sl.m)
	}
	return p, nil
}

// threadGap counts the other messages of sid's thread sent between its
// first and last copies: past the thread's dedupe memory, a copy is new.
func (p *plan) threadGap(sid string) int {
	first, last, from := -1, -1, ""
	for i, m := range p.requests {
		if m.sid == sid {
			if first < 0 {
				first = i
			}
			last, from = i, m.from
		}
	}
	seen := map[string]bool{}
	for _, m := range p.requests[max(first, 0)+1 : max(last, 0)+1] {
		if m.from == from && m.sid != sid {
			seen[m.sid] = true
		}
	}
	return len(seen)
}

func uuid() string {
	h := randHex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

func randHex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rand.IntN(16)]
	}
	return string(b)
}

// smsForm is an inbound SMS webhook as Twilio posts it.
func smsForm(m inboundMessage) url.Values {
	return url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {m.sid}, "NumMedia": {"0"}, "ToCity": {"SAN FRANCISCO"},
		"FromZip": {"94105"}, "SmsSid": {m.sid}, "FromState": {"CA"}, "SmsStatus": {"received"}, "FromCity": {"SAN FRANCISCO"},
		"Body": {m.body}, "FromCountry": {"US"}, "To": {ourNumber}, "ToZip": {"94105"}, "NumSegments": {"1"},
		"ReferralNumMedia": {"0"}, "MessageSid": {m.sid}, "AccountSid": {"ACd16c3a35ed0e2b33ff27d4d3ca80aa23"},
		"From": {m.from}, "ApiVersion": {"2010-04-01"},
	}
}

type firer struct {
	base, signURL, authToken string
	appSecret, channel       string
	topicARN                 string
	// notes are the signed SNS notifications of an email run, by Message-ID.
	notes  map[string][]byte
	client *http.Client
}

type results struct {
	sent      int
	elapsed   time.Duration
	latencies []time.Duration
	statuses  map[string]int
}

// fire posts every request with c workers, until done or ctx ends.
func (f *firer) fire(ctx context.Context, reqs []inboundMessage, c int) *results {
	jobs := make(chan inboundMessage)
	var mu sync.Mutex
	res := &results{statuses: map[string]int{}}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range jobs {
				status, took := f.post(ctx, m)
				mu.Lock()
				res.sent++
				res.latencies = append(res.latencies, took)
				res.statuses[status]++
				mu.Unlock()
			}
		}()
	}
feed:
	for _, m := range reqs {
		select {
		case jobs <- m:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func (f *firer) post(ctx context.Context, m inboundMessage) (string, time.Duration) {
	req, err := f.request(ctx, m)
	if err != nil {
		return "error", 0
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		return "error", time.Since(start)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return fmt.Sprint(resp.StatusCode), time.Since(start)
}

// request is m as its provider posts it, signed.
func (f *firer) request(ctx context.Context, m inboundMessage) (*http.Request, error) {
	switch f.channel {
	case "email":
		body, ok := f.notes[m.sid]
		if !ok {
			return nil, fmt.Errorf("no staged notification for %s", m.sid)
		}
		// SNS posts JSON as text/plain.
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/webhooks/"+workspace+"/email", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
		req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
		req.Header.Set("X-Amz-Sns-Message-Type", email.TypeNotification)
		req.Header.Set("X-Amz-Sns-Message-Id", m.snsID)
		req.Header.Set("X-Amz-Sns-Topic-Arn", f.topicARN)
		return req, nil
	case "whatsapp":
		body := whatsAppText(m)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/webhooks/"+workspace+"/meta", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", signing.Meta(f.appSecret, body))
		req.Header.Set("User-Agent", "facebookexternalua")
		return req, nil
	}
	form := smsForm(m)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/webhooks/"+workspace+"/twilio/messages", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", signing.Twilio(f.authToken, f.signURL, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	return req, nil
}

// whatsAppText is a WhatsApp Cloud API inbound text message, as
// events/meta-whatsapp-text.json; m.sid is its wamid.
func whatsAppText(m inboundMessage) []byte {
	waID := strings.TrimPrefix(m.from, "+")
	body, _ := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": "114209384756120", "changes": []any{map[string]any{"field": "messages", "value": map[string]any{
			"messaging_product": "whatsapp",
			"metadata":          map[string]any{"display_phone_number": "15550100199", "phone_number_id": "108374651209348"},
			"contacts":          []any{map[string]any{"profile": map[string]any{"name": "Load " + waID}, "wa_id": waID}},
			"messages": []any{map[string]any{"from": waID, "id": m.sid, "timestamp": fmt.Sprint(time.Now().Unix()),
				"type": "text", "text": map[string]any{"body": m.body}}},
		}}}}},
	})
	return body
}

func (r *results) non2xx() int {
	n := 0
	for s, c := range r.statuses {
		if len(s) != 3 || s[0] != '2' {
			n += c
		}
	}
	return n
}

func (r *results) print() {
	lat := append([]time.Duration(nil), r.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		i := int(p*float64(len(lat))+0.5) - 1
		return lat[max(0, min(i, len(lat)-1))]
	}
	keys := make([]string, 0, len(r.statuses))
	for k := range r.statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var st []string
	for _, k := range keys {
		st = append(st, fmt.Sprintf("%s×%d", k, r.statuses[k]))
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
	fmt.Printf("fire: %d requests in %s, %.0f req/s; latency p50 %s p95 %s p99 %s max %s; status %s\n",
		r.sent, r.elapsed.Round(time.Millisecond), float64(r.sent)/r.elapsed.Seconds(),
		ms(pct(0.50)), ms(pct(0.95)), ms(pct(0.99)), ms(pct(1)), strings.Join(st, " "))
}

type verifier struct {
	base, token string
	client      *http.Client
}

// verify reads each sender's conversations and counts the sent messages
// missing from them (lost) and the copies beyond one (duplicated).
func (v *verifier) verify(ctx context.Context, p *plan, c int) (lost, dup []string, err error) {
	senders := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sender := range senders {
				l, d, err := v.checkSender(ctx, sender, p.bySender[sender])
				mu.Lock()
				lost, dup = append(lost, l...), append(dup, d...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for sender := range p.bySender {
		senders <- sender
	}
	close(senders)
	wg.Wait()
	return lost, dup, firstErr
}

// checkSender finds the sender's contacts by phone number, or by email
// address for an email run, as an agent's search does.
func (v *verifier) checkSender(ctx context.Context, sender string, sent []inboundMessage) (lost, dup []string, err error) {
	var contacts struct {
		Items []struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversationId"`
		} `json:"items"`
	}
	by := "phone"
	if strings.Contains(sender, "@") {
		by = "email"
	}
	if err := v.get(ctx, "/contacts?"+by+"="+url.QueryEscape(sender), &contacts); err != nil {
		return nil, nil, err
	}
	// Counted by provider id over every conversation of every contact the
	// sender maps to, so a second contact or thread shows as a duplicate.
	seen := map[string]int{}
	for _, ct := range contacts.Items {
		if ct.ConversationID == "" {
			continue
		}
		cursor := ""
		for {
			var page struct {
				Items []struct {
					ProviderID string          `json:"providerId"`
					Body       string          `json:"body"`
					Direction  inbox.Direction `json:"direction"`
				} `json:"items"`
				NextCursor string `json:"nextCursor"`
			}
			path := "/conversations/" + url.PathEscape(ct.ConversationID) + "/messages?limit=100"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			if err := v.get(ctx, path, &page); err != nil {
				return nil, nil, err
			}
			for _, m := range page.Items {
				if m.Direction == inbox.DirectionIn && m.ProviderID != "" {
					seen[m.ProviderID+"\x00"+m.Body]++
				}
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	for _, m := range sent {
		switch n := seen[m.sid+"\x00"+m.body]; {
		case n == 0:
			lost = append(lost, m.sid)
		case n > 1:
			for range n - 1 {
				dup = append(dup, m.sid)
			}
		}
	}
	return lost, dup, nil
}

func (v *verifier) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+v.token)
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, raw)
	}
	return json.Unmarshal(raw, into)
}
