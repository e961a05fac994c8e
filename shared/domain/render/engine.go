package render

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/osteele/liquid"
	liquidrender "github.com/osteele/liquid/render"
)

// A template is written by a marketer in a browser and runs in every
// function, so the engine gives it no way out and no way to run away:
//   - include reads files from the server's disk: it is taken out;
//   - the filters that grow a string or a list refuse to grow it past
//     MaxOutput bytes or maxItems items;
//   - loops nest at most maxLoopDepth deep (checked when a file is parsed),
//     and ranges are bounded (checkLoops);
//   - a render that still takes longer than maxRenderTime fails.

// maxItems bounds a list a template builds (split, concat).
const maxItems = 1000

// maxLoopDepth bounds how deep for and tablerow loops nest.
const maxLoopDepth = 2

var errNoInclude = errors.New("include is not available in daifuku's templates: write the words in this file")

func newEngine() *liquid.Engine {
	e := liquid.NewEngine()
	e.StrictVariables()
	e.RegisterFilter("yen", Yen)
	e.RegisterTag("include", func(liquidrender.Context) (string, error) { return "", errNoInclude })
	grow := func(s string) (string, error) {
		if len(s) > MaxOutput {
			return "", fmt.Errorf("a string of %d bytes, over the limit of %d", len(s), MaxOutput)
		}
		return s, nil
	}
	e.RegisterFilter("append", func(s, suffix string) (string, error) { return grow(s + suffix) })
	e.RegisterFilter("prepend", func(s, prefix string) (string, error) { return grow(prefix + s) })
	e.RegisterFilter("replace", func(s, old, n string) (string, error) {
		if strings.Count(s, old)*max(len(n)-len(old), 0) > MaxOutput {
			return "", fmt.Errorf("replace would make a string over the limit of %d bytes", MaxOutput)
		}
		return grow(strings.ReplaceAll(s, old, n))
	})
	e.RegisterFilter("join", func(a []any, sep func(string) string) (string, error) {
		ss := make([]string, 0, len(a))
		for _, v := range a {
			if v != nil {
				ss = append(ss, fmt.Sprint(v))
			}
		}
		return grow(strings.Join(ss, sep(" ")))
	})
	e.RegisterFilter("split", func(s, sep string) ([]string, error) {
		var out []string
		if sep == " " {
			out = strings.Fields(s)
		} else {
			out = strings.Split(s, sep)
		}
		for len(out) > 0 && out[len(out)-1] == "" {
			out = out[:len(out)-1]
		}
		if len(out) > maxItems {
			return nil, fmt.Errorf("split makes %d items, over the limit of %d", len(out), maxItems)
		}
		return out, nil
	})
	e.RegisterFilter("concat", func(a, b []any) ([]any, error) {
		if len(a)+len(b) > maxItems {
			return nil, fmt.Errorf("concat makes %d items, over the limit of %d", len(a)+len(b), maxItems)
		}
		return append(append(make([]any, 0, len(a)+len(b)), a...), b...), nil
	})
	return e
}

var (
	loopTagRE = regexp.MustCompile(`\{%-?\s*(for|tablerow|endfor|endtablerow|include)\b`)
)

// checkTags refuses include, and loops nested deeper than maxLoopDepth,
// with the line they are on.
func checkTags(file string, src []byte) error {
	depth := 0
	for _, loc := range loopTagRE.FindAllSubmatchIndex(src, -1) {
		line := 1 + strings.Count(string(src[:loc[0]]), "\n")
		switch string(src[loc[2]:loc[3]]) {
		case "include":
			return &Error{File: file, Line: line, Msg: errNoInclude.Error()}
		case "for", "tablerow":
			if depth++; depth > maxLoopDepth {
				return &Error{File: file, Line: line, Msg: fmt.Sprintf("loops nest %d deep; at most %d", depth, maxLoopDepth)}
			}
		default:
			depth = max(depth-1, 0)
		}
	}
	return nil
}

// maxRenderTime bounds one file's render: the checks above leave only
// pathological templates to reach it.
const maxRenderTime = 2 * time.Second

// renderBounded renders t, or fails after maxRenderTime. (The liquid
// engine cannot be stopped: a render cut off finishes in the background,
// bounded by the limits above.)
func renderBounded(file string, t *liquid.Template, b liquid.Bindings) (string, error) {
	type result struct {
		out string
		err liquid.SourceError
	}
	done := make(chan result, 1)
	go func() {
		out, err := t.RenderString(b)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", &Error{File: file, Line: r.err.LineNumber(), Msg: causeOf(r.err)}
		}
		if err := checkOutput(file, r.out); err != nil {
			return "", err
		}
		return r.out, nil
	case <-time.After(maxRenderTime):
		return "", &Error{File: file, Msg: fmt.Sprintf("took longer than %s to render: loops or filters run away", maxRenderTime)}
	}
}
