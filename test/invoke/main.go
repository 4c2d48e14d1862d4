// Command invoke posts a sample event from events/ to the local stack, the
// way API Gateway would hand it to the webhook function (make invoke).
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/parley-inbox/parley/shared/adapter/email"
	"github.com/parley-inbox/parley/shared/config/providers"
)

func main() {
	base := flag.String("url", "http://localhost:8080", "the local stack")
	dataDir := flag.String("data", ".local", "the local stack's PARLEY_DATA_DIR")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: invoke [-url URL] [-data DIR] EVENT   (a file name in events/, without .json)")
		os.Exit(2)
	}
	raw, err := os.ReadFile(filepath.Join("events", strings.TrimSuffix(flag.Arg(0), ".json")+".json"))
	check(err)
	var ev events.APIGatewayV2HTTPRequest
	check(json.Unmarshal(raw, &ev))
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(ev.Body)
		check(err)
	}
	check(stageEmail(body, *dataDir))
	check(resignStripe(&ev, body, *dataDir))
	target := *base + ev.RawPath
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, target, bytes.NewReader(body))
	check(err)
	for k, v := range ev.Headers {
		if !strings.EqualFold(k, "host") && !strings.EqualFold(k, "content-length") {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	check(err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	fmt.Printf("%s %s -> %s\n%s\n", req.Method, ev.RawPath, res.Status, out)
}

// stageEmail puts the raw message an SES sample names where the local
// stand-in for S3 reads it: the fixture whose Message-ID the sample carries.
func stageEmail(body []byte, dataDir string) error {
	msg, err := email.ParseSNS(body)
	if err != nil || msg.Type != email.TypeNotification {
		return nil // not an SES sample
	}
	receipt, err := email.ParseSESNotification(msg.Message)
	if err != nil || receipt.Bucket == "" {
		return nil
	}
	fixtures, _ := filepath.Glob(filepath.Join("events", "testdata", "*.eml"))
	for _, f := range fixtures {
		eml, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if strings.Contains(msg.Message, messageID(eml)) {
			dest := filepath.Join(dataDir, "mail", receipt.Bucket, filepath.FromSlash(receipt.Key))
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return err
			}
			return os.WriteFile(dest, eml, 0o644)
		}
	}
	return nil
}

// resignStripe signs a Stripe sample again, now, with its workspace's
// webhook secret from the stack's providers.json: Stripe signatures are
// refused once five minutes old.
func resignStripe(ev *events.APIGatewayV2HTTPRequest, body []byte, dataDir string) error {
	if _, ok := ev.Headers["stripe-signature"]; !ok {
		return nil
	}
	set, err := providers.Load(filepath.Join(dataDir, "providers.json"))
	if err != nil {
		return err
	}
	ws := strings.Split(strings.TrimPrefix(ev.RawPath, "/webhooks/"), "/")[0]
	secret := set[ws].StripeWebhookSecret
	if secret == "" {
		return fmt.Errorf("workspace %q has no stripeWebhookSecret in %s", ws, filepath.Join(dataDir, "providers.json"))
	}
	ev.Headers["stripe-signature"] = webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret}).Header
	return nil
}

func messageID(eml []byte) string {
	for _, line := range strings.Split(string(eml), "\n") {
		if v, ok := strings.CutPrefix(line, "Message-ID:"); ok {
			return strings.Trim(strings.TrimSpace(v), "<>")
		}
	}
	return "\x00none"
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "invoke:", err)
		os.Exit(1)
	}
}
