package render_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/render"
)

// A template can neither read the server's files nor run away: each of
// these is refused when the file is checked, quickly, with its line.
func TestTemplatesCannotReadFilesOrRunAway(t *testing.T) {
	t.Parallel()
	doubling := "{% assign s = \"x\" %}\n" + strings.Repeat("{% assign s = s | append: s %}\n", 40) + "{{ s | size }}"
	nested := "{% assign a = \"" + strings.TrimSuffix(strings.Repeat("x,", 200), ",") + "\" | split: \",\" %}\n" +
		"{% for x in a %}{% for y in a %}{% for z in a %}.{% endfor %}{% endfor %}{% endfor %}"
	for name, src := range map[string]string{
		"include a file":     "line one\n{% include \"../../../../../../proc/self/environ\" %}",
		"include, trimmed":   "{%- include 'x' -%}",
		"string doubling":    doubling,
		"three nested loops": nested,
		"a huge split":       "{% assign a = \"" + strings.Repeat(",", 5000) + "x\" | split: \",\" %}{{ a | size }}",
		"a huge range":       "{% for i in (1..100000000) %}x{% endfor %}",
	} {
		start := time.Now()
		err := render.CheckFile("thank-you/royal/email.txt.liquid", []byte(src))
		var re *render.Error
		if !errors.As(err, &re) {
			t.Errorf("%s: %v; want it refused", name, err)
			continue
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: refused after %s", name, took)
		}
		if strings.HasPrefix(name, "include a file") && re.Line != 2 {
			t.Errorf("%s: line %d, want 2", name, re.Line)
		}
	}
}
