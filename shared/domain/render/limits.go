package render

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
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
