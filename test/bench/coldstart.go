package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/parley-inbox/parley/shared/dev/dynamolocal"
)

// coldStart measures a function's initialisation: from exec to its first
// poll of the Lambda Runtime API, which is when Lambda's Init phase ends.
// Secrets Manager is a local stand-in (the SDK honours
// AWS_ENDPOINT_URL_SECRETS_MANAGER), so the figure covers config, SDK set-up
// and the secret read, on this machine's CPU rather than Lambda's.
func coldStart(fn string, runs int) (time.Duration, error) {
	root, err := dynamolocal.RepoRoot()
	if err != nil {
		return 0, err
	}
	bin := filepath.Join(os.TempDir(), "parley-coldstart-"+fn)
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+fn)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build %s: %v\n%s", fn, err, out)
	}
	defer os.Remove(bin)

	secrets := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		value := "bench-cursor-secret"
		if strings.Contains(string(body), "providers") {
			value = `{\"demo\":{\"twilioAuthToken\":\"x\"}}`
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x","Name":"x","SecretString":"%s"}`, value)
	}))
	defer secrets.Close()

	var samples []time.Duration
	for range runs {
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
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(runtimeAPI.URL, "http://"),
			"AWS_ENDPOINT_URL_SECRETS_MANAGER="+secrets.URL,
			"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench",
			"TABLE_NAME=bench", "CURSOR_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor",
			"PROVIDER_SECRETS_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:providers",
			"PUBLIC_URL=https://api.parley.example", "EVENT_BUS_NAME=parley-events",
			"SCHEDULER_GROUP=parley", "SCHEDULER_ROLE_ARN=arn:aws:iam::123456789012:role/scheduler",
			"SENDER_FUNCTION_ARN=arn:aws:lambda:us-east-1:123456789012:function:sender",
			"DRIP_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:drip",
			"AUTOMATION_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:automation")
		start := time.Now()
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		select {
		case at := <-polled:
			samples = append(samples, at.Sub(start))
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			return 0, fmt.Errorf("%s never polled the runtime API", fn)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		runtimeAPI.CloseClientConnections()
		runtimeAPI.Close()
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return samples[len(samples)/2], nil
}
