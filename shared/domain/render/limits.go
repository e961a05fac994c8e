package render

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"regexp"
	"strconv"
	"sync"

	"github.com/osteele/liquid"
)

// Limits that keep a template from running away: the data a template loops
// over is small (an order's items, at most five voices), so only a range
// can make a loop long, and only a long loop a huge message.
const (
	// MaxIterations bounds the product of a template's ranges: nested
	// loops multiply. A range with a variable bound counts as
	// unknownRange iterations.
	MaxIterations = 10_000
	unknownRange  = 1_000
	// MaxOutput bounds one rendered file (an email's HTML is a few KiB;
	// LINE refuses more than 5,000 characters of text anyway).
	MaxOutput = 256 << 10
)

var rangeRE = regexp.MustCompile(`\(\s*([^()]+?)\s*\.\.\s*([^()]+?)\s*\)`)

// checkLoops refuses ranges that could loop too long.
func checkLoops(file string, src []byte) error {
	if !bytes.Contains(src, []byte("..")) {
		return nil
	}
	total := 1
	for _, loc := range rangeRE.FindAllSubmatchIndex(src, -1) {
		n := unknownRange
		lo, err1 := strconv.Atoi(string(src[loc[2]:loc[3]]))
		hi, err2 := strconv.Atoi(string(src[loc[4]:loc[5]]))
		if err1 == nil && err2 == nil {
			n = max(hi-lo+1, 0)
		}
		total *= max(n, 1)
		if total > MaxIterations {
			return &Error{File: file, Line: 1 + bytes.Count(src[:loc[0]], []byte("\n")), Msg: fmt.Sprintf(
				"this range makes the loops run more than %d times (a range with a variable bound counts as %d)", MaxIterations, unknownRange)}
		}
	}
	return nil
}

// checkOutput refuses a rendered file over MaxOutput.
func checkOutput(file string, out string) error {
	if len(out) > MaxOutput {
		return &Error{File: file, Msg: fmt.Sprintf("renders to %d bytes, over the limit of %d", len(out), MaxOutput)}
	}
	return nil
}

// parsed keeps templates parsed before, by file and source: the studio's
// preview loads the whole set on every keystroke, and all but one file are
// the same. Parsed templates are only read when rendering, so sharing them
// is safe; the cache is emptied when it grows past maxParsed.
var parsed struct {
	sync.Mutex
	m map[[32]byte]*liquid.Template
}

const maxParsed = 4096

// parse parses src as file, or returns the template parsed from the same before.
func parse(e *liquid.Engine, file string, src []byte) (*liquid.Template, liquid.SourceError) {
	key := sha256.Sum256(append([]byte(file+"\x00"), src...))
	parsed.Lock()
	t, ok := parsed.m[key]
	parsed.Unlock()
	if ok {
		return t, nil
	}
	t, err := e.ParseTemplateLocation(src, file, 1)
	if err != nil {
		return nil, err
	}
	parsed.Lock()
	if parsed.m == nil || len(parsed.m) >= maxParsed {
		parsed.m = map[[32]byte]*liquid.Template{}
	}
	parsed.m[key] = t
	parsed.Unlock()
	return t, nil
}

// ForgetParsed empties the parse cache: what a cold start sees (benchmarks).
func ForgetParsed() {
	parsed.Lock()
	parsed.m = nil
	parsed.Unlock()
}
