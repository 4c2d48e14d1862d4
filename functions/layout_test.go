// Package functions holds one main package per Lambda, and this test of
// what they may import.
package functions

import (
	"os/exec"
	"strings"
	"testing"
)

// deployed are the functions that run in AWS; functions/local is make dev.
var deployed = []string{"api", "webhooks", "mail", "publisher", "sender", "sequences", "realtime", "authorizer", "exporter", "media", "integrations"}

// TestDeployedFunctionsImportNoDevelopmentCode keeps stand-ins, test
// signers and dev tokens out of what runs in AWS: everything under
// shared/dev exists only for make dev and the tests.
func TestDeployedFunctionsImportNoDevelopmentCode(t *testing.T) {
	for _, fn := range deployed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", "./"+fn).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", fn, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("%s: go list found only %v", fn, deps)
		}
		for _, dep := range deps {
			if strings.Contains(dep, "/parley/shared/dev/") || strings.HasSuffix(dep, "/parley/shared/dev") {
				t.Errorf("functions/%s imports %s, which is development code", fn, dep)
			}
		}
	}
}

// TestEveryFunctionIsDeployed keeps the list above complete, so a new
// function cannot escape the check before it.
func TestEveryFunctionIsDeployed(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var mains []string
	for line := range strings.Lines(string(out)) {
		if name, path, _ := strings.Cut(strings.TrimSpace(line), " "); name == "main" {
			mains = append(mains, path[strings.LastIndex(path, "/")+1:])
		}
	}
	want := strings.Join(append(append([]string{}, deployed...), "local"), " ")
	got := strings.Join(mains, " ")
	for _, fn := range strings.Fields(want) {
		if !strings.Contains(" "+got+" ", " "+fn+" ") {
			t.Errorf("functions/%s is missing; main packages: %s", fn, got)
		}
	}
	if len(mains) != len(deployed)+1 {
		t.Errorf("main packages %s, want %s", got, want)
	}
}
