package functions

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxClientMethods is what dead-code elimination leaves of an AWS service
// client in a function: the operations it calls (DynamoDB's store uses a
// dozen), and some slack. With elimination off every method stays: 63 of
// DynamoDB's, over 100 of S3's.
const maxClientMethods = 20

// TestLinkerDropsUnusedMethods fails when a dependency turns the linker's
// dead-code elimination off. A reflect.Value.MethodByName (or Method) call
// with a name the linker cannot see makes it keep every exported method of
// every type that reaches an interface; protobuf's descfmt did that through
// the phone number library.
func TestLinkerDropsUnusedMethods(t *testing.T) {
	if testing.Short() {
		t.Skip("links every function")
	}
	dir := t.TempDir()
	for _, fn := range deployed {
		t.Run(fn, func(t *testing.T) {
			bin := filepath.Join(dir, fn)
			build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./"+fn)
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			out, err := exec.Command("go", "tool", "nm", bin).CombinedOutput()
			if err != nil {
				t.Fatalf("go tool nm: %v\n%s", err, out)
			}
			kept := map[string]int{} // AWS service client -> exported methods linked
			for line := range strings.Lines(string(out)) {
				f := strings.Fields(line)
				pkg, method, ok := strings.Cut(f[len(f)-1], ".(*Client).")
				if ok && strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/") && method != "" && method[0] >= 'A' && method[0] <= 'Z' {
					kept[strings.TrimPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/")]++
				}
			}
			if len(kept) == 0 {
				t.Fatal("no AWS service client found: the check no longer sees them")
			}
			// Inbound email is functions/mail's: the public webhooks
			// function links neither the S3 client nor the MIME parser.
			if fn == "webhooks" && (kept["s3"] > 0 || strings.Contains(string(out), "/shared/adapter/email.ParseMIME")) {
				t.Errorf("functions/webhooks links inbound email (%d S3 client methods, or email.ParseMIME*): its Routes must not name the email route", kept["s3"])
			}
			// Filing mail sends none: functions/mail links no SES client,
			// not even its package's data (shared/adapter/ses is apart).
			if fn == "mail" && strings.Contains(string(out), "aws-sdk-go-v2/service/sesv2") {
				t.Error("functions/mail links the SES v2 package: keep sending (shared/adapter/ses) out of what it imports")
			}
			for client, n := range kept {
				if n > maxClientMethods {
					t.Errorf("the linker kept %d methods of the %s client (want at most %d): dead-code elimination is off; look for reflect.Value.MethodByName in the dependencies (go build -ldflags=-dumpdep)", n, client, maxClientMethods)
				}
			}
		})
	}
}
