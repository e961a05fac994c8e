package content

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/contentset"
	"github.com/daifuku/daifuku/shared/domain/render"
)

// Checks validates content for the publishing desk, as LoadContent would.
type Checks struct{}

// File checks one file alone: a template's Liquid, a YAML file's syntax.
func (Checks) File(p string, src []byte) []contentset.Problem {
	var err error
	switch {
	case strings.HasSuffix(p, ".liquid"):
		err = render.CheckFile(p, src)
	case strings.HasSuffix(p, ".yaml"):
		var n yaml.Node
		if yerr := yaml.Unmarshal(src, &n); yerr != nil {
			err = errors.New(p + ": " + yerr.Error())
		}
	}
	return Problems(err, contentset.Set{p: src})
}

// Set loads a whole set as the functions would and reports every problem.
func (Checks) Set(set contentset.Set) []contentset.Problem {
	_, err := LoadContent(set.FS())
	return Problems(err, set)
}

// located reads "[templates/]FILE[:LINE]: MESSAGE" and YAML's "line N:".
var (
	located  = regexp.MustCompile(`^(?:templates/)?([a-z0-9][a-z0-9./-]*\.(?:yaml|liquid))(?::(\d+))?: (?s)(.*)$`)
	yamlLine = regexp.MustCompile(`line (\d+):`)
	quoted   = regexp.MustCompile(`"([^"]+)"`)
)

// Problems turns a load error (one, or many joined) into problems with
// their file, line and, where the message names a token on that line, its
// column.
func Problems(err error, set contentset.Set) []contentset.Problem {
	if err == nil {
		return nil
	}
	var out []contentset.Problem
	var walk func(error)
	walk = func(err error) {
		if many, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range many.Unwrap() {
				walk(e)
			}
			return
		}
		p := contentset.Problem{Message: err.Error()}
		var re *render.Error
		switch {
		case errors.As(err, &re):
			p = contentset.Problem{File: re.File, Line: re.Line, Message: re.Msg}
		default:
			if m := located.FindStringSubmatch(err.Error()); m != nil {
				p.File, p.Message = m[1], m[3]
				p.Line, _ = strconv.Atoi(m[2])
			}
			if m := yamlLine.FindStringSubmatch(p.Message); m != nil && p.Line == 0 {
				p.Line, _ = strconv.Atoi(m[1])
			}
		}
		p.Column = column(set[p.File], p.Line, p.Message)
		out = append(out, p)
	}
	walk(err)
	return out
}

// column finds, on the problem's line, the first token the message quotes
// (an unknown filter, a variable): 1-based, in characters.
func column(src []byte, line int, msg string) int {
	if line < 1 || src == nil {
		return 0
	}
	lines := bytes.Split(src, []byte("\n"))
	if line > len(lines) {
		return 0
	}
	for _, m := range quoted.FindAllStringSubmatch(msg, -1) {
		if i := bytes.Index(lines[line-1], []byte(m[1])); i >= 0 {
			return utf8.RuneCount(lines[line-1][:i]) + 1
		}
	}
	return 0
}
