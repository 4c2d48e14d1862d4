package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// Size and init budgets, as ratios to the reference Lambda built in the
// same run (issue 11).
const (
	sizeBudget = 1.3
	initBudget = 1.5
	initRounds = 7
)

// lambda is one binary measured: a Parley function or the reference.
type lambda struct {
	name, pkg string
	size      int64           // linux/arm64, stripped, as deployed
	inits     []time.Duration // this machine's architecture
}

// printLambdas builds every function and test/bench/reference the way
// make build does, and prints their sizes and cold-start init times as
// ratios to the reference's. Init runs are interleaved round by round, so
// a noisy moment slows all of them alike; the figure is the median.
func printLambdas() {
	root, err := dynamolocal.RepoRoot()
	check(err)
	dir, err := os.MkdirTemp("", "parley-bench-lambdas")
	check(err)
	defer os.RemoveAll(dir)

	all := []*lambda{{name: "reference", pkg: "./test/bench/reference"}}
	for _, fn := range []string{"api", "webhooks", "mail", "publisher", "sender", "sequences", "realtime", "authorizer", "exporter", "media", "integrations"} {
		all = append(all, &lambda{name: fn, pkg: "./functions/" + fn})
	}
	for _, l := range all {
		arm := filepath.Join(dir, l.name+".arm64")
		check(build(root, l.pkg, arm, "GOOS=linux", "GOARCH=arm64"))
		st, err := os.Stat(arm)
		check(err)
		l.size = st.Size()
		check(build(root, l.pkg, filepath.Join(dir, l.name)))
	}
	secrets := secretsStandIn()
	defer secrets.Close()
	// The authorizer fetches the user pool's signing keys at init.
	pool := newCognitoStandIn()
	defer pool.Close()
	for range initRounds {
		for _, l := range all {
			d, err := coldStart(filepath.Join(dir, l.name), secrets.URL, pool.URL)
			check(err)
			l.inits = append(l.inits, d)
		}
	}

	ref := all[0]
	fmt.Printf("\nLambda functions against the reference (a bare aws-lambda-go handler: default SDK config, a DynamoDB client, one GetItem):\n")
	fmt.Printf("  size: bootstrap for linux/arm64, -tags lambda.norpc, stripped; init: exec to the first poll of the Runtime API,\n")
	fmt.Printf("  median of %d interleaved runs on this machine (%s), with stand-ins for Secrets Manager and the Cognito JWKS\n", initRounds, runtime.GOARCH)
	fmt.Printf("  %-10s %9s %9s %10s %9s   budget (≤%.1f× size, ≤%.1f× init)\n", "function", "size", "× ref", "init", "× ref", sizeBudget, initBudget)
	for _, l := range all {
		sizeRatio := float64(l.size) / float64(ref.size)
		initRatio := float64(median(l.inits)) / float64(median(ref.inits))
		verdict := ""
		if l != ref {
			verdict = budget(sizeRatio <= sizeBudget, "size") + ", " + budget(initRatio <= initBudget, "init")
		}
		fmt.Printf("  %-10s %6.1f MB %8.2f× %7.1f ms %8.2f×   %s\n", l.name, float64(l.size)/1e6, sizeRatio,
			float64(median(l.inits).Microseconds())/1000, initRatio, verdict)
	}
}

func budget(ok bool, what string) string {
	if ok {
		return what + " ok"
	}
	return what + " OVER"
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func build(root, pkg, out string, env ...string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", pkg, err, msg)
	}
	return nil
}

// secretsStandIn answers GetSecretValue: the cursor key, or provider
// credentials when the secret's name says providers.
func secretsStandIn() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		value := "bench-cursor-secret"
		if strings.Contains(string(body), "providers") {
			value = `{\"demo\":{\"twilioAuthToken\":\"x\"}}`
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x","Name":"x","SecretString":"%s"}`, value)
	}))
}

// coldStart measures one initialisation of bin: from exec to its first
// poll of the Lambda Runtime API, which is when Lambda's Init phase ends.
// Secrets Manager is a local stand-in (AWS_ENDPOINT_URL_SECRETS_MANAGER),
// and so is the Cognito issuer whose JWKS the authorizer fetches, so the
// figure covers config, SDK set-up and the secret and key reads, on this
// machine's CPU rather than Lambda's.
func coldStart(bin, secretsURL, issuerURL string) (time.Duration, error) {
	polled := make(chan time.Time, 1)
	runtimeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/invocation/next") {
			select {
			case polled <- time.Now():
			default:
			}
			<-r.Context().Done() // hold the poll open, as Lambda does between invocations
		}
	}))
	defer func() {
		runtimeAPI.CloseClientConnections()
		runtimeAPI.Close()
	}()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(runtimeAPI.URL, "http://"),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+secretsURL,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench",
		"TABLE_NAME=bench", "CURSOR_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor",
		"PROVIDER_SECRETS_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:providers",
		"PUBLIC_URL=https://api.parley.example", "EVENT_BUS_NAME=parley-events",
		"SCHEDULER_GROUP=parley", "SCHEDULER_ROLE_ARN=arn:aws:iam::123456789012:role/scheduler",
		"SENDER_FUNCTION_ARN=arn:aws:lambda:us-east-1:123456789012:function:sender",
		"DRIP_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:drip",
		"AUTOMATION_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:automation",
		"WEBSOCKET_URL=wss://ws.parley.example/live", "WEBSOCKET_ENDPOINT=https://ws.parley.example/live",
		"COGNITO_ISSUER="+issuerURL, "COGNITO_CLIENT_ID="+benchClientID,
		"EXPORT_BUCKET=parley-exports", "EXPORTER_FUNCTION_NAME=parley-exporter",
		"MEDIA_BUCKET=parley-media", "MAIL_BUCKET=parley-mail",
		"WEBHOOK_QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/parley-webhooks")
	// A function that exits at init (a missing setting) says why.
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	select {
	case at := <-polled:
		return at.Sub(start), nil
	case <-exited:
		return 0, fmt.Errorf("%s exited before it polled the runtime API: %s", filepath.Base(bin), bytes.TrimSpace(output.Bytes()))
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return 0, fmt.Errorf("%s never polled the runtime API: %s", filepath.Base(bin), bytes.TrimSpace(output.Bytes()))
	}
}
