// Package shared_test keeps the layering honest: the domain packages hold
// types and rules and import no AWS, LINE or SendGrid package.
package shared_test

import (
	"os/exec"
	"strings"
	"testing"
)

func TestDomainImportsNoSDK(t *testing.T) {
	domain := []string{"customer", "rank", "message", "delivery", "render", "feedback", "token"}
	forbidden := []string{"github.com/aws/", "github.com/line/", "github.com/sendgrid/", "github.com/awslabs/"}
	for _, pkg := range domain {
		out, err := exec.Command("go", "list", "-deps", "github.com/daifuku/daifuku/shared/"+pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("domain package shared/%s depends on %s; keep SDKs in adapters", pkg, dep)
				}
			}
		}
	}
}
