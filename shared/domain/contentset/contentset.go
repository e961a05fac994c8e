// Package contentset is the marketer-owned content as versioned data: every
// Liquid template and the YAML files the marketer owns, each saved as a new,
// immutable version, and one published revision naming the version of each
// file the functions run.
package contentset

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/daifuku/daifuku/shared/domain/message"
)

// MaxFileSize bounds one file: the largest template today is a few KiB.
const MaxFileSize = 64 << 10

// Version is one saved version of one file.
type Version struct {
	Path    string    `dynamodbav:"path" json:"path"`
	Version int       `dynamodbav:"version" json:"version"`
	Source  string    `dynamodbav:"source" json:"source,omitempty"`
	Author  string    `dynamodbav:"author" json:"author"`
	Comment string    `dynamodbav:"comment,omitempty" json:"comment,omitempty"`
	At      time.Time `dynamodbav:"at" json:"at"`
}

// Revision is one publish: the version of every file the functions run.
type Revision struct {
	N       int            `dynamodbav:"revision" json:"revision"`
	Files   map[string]int `dynamodbav:"files" json:"files"`
	By      string         `dynamodbav:"by" json:"by"`
	At      time.Time      `dynamodbav:"at" json:"at"`
	Comment string         `dynamodbav:"comment,omitempty" json:"comment,omitempty"`
	// Changed is the file this publish changed and the version it put live
	// ("" for the first revision, seeded from templates/).
	Changed string `dynamodbav:"changed,omitempty" json:"changed,omitempty"`
	Version int    `dynamodbav:"changed_version,omitempty" json:"version,omitempty"`
}

// Edit is a file's latest version, who saved it and when.
type Edit struct {
	Version int       `dynamodbav:"version" json:"version"`
	Author  string    `dynamodbav:"author" json:"author"`
	At      time.Time `dynamodbav:"at" json:"at"`
}

// TemplateVersions names the file versions a rendered template used, e.g.
// "email.subject.liquid@1 email.html.liquid@3 email.txt.liquid@2" for
// "thank-you/royal/email" ("" before the first publish).
func TemplateVersions(files map[string]int, template string) string {
	dir, ch := path.Split(template)
	var parts []string
	for _, name := range TemplateFiles {
		if n, ok := files[dir+name]; ok && strings.HasPrefix(name, ch+".") {
			parts = append(parts, fmt.Sprintf("%s@%d", name, n))
		}
	}
	return strings.Join(parts, " ")
}

// FolderVersion is a template folder's version: its newest file's (0 before
// the first publish, or for no folder).
func FolderVersion(files map[string]int, folder string) int {
	v := 0
	if folder == "" {
		return v
	}
	for p, n := range files {
		if strings.HasPrefix(p, folder+"/") {
			v = max(v, n)
		}
	}
	return v
}

// Set is a whole content set: file path → source.
type Set map[string][]byte

// FS serves the set as the files LoadContent reads.
func (s Set) FS() fs.FS {
	m := fstest.MapFS{}
	for p, src := range s {
		m[p] = &fstest.MapFile{Data: src, Mode: 0o444}
	}
	return m
}

// Paths lists the set's files, sorted.
func (s Set) Paths() []string {
	ps := make([]string, 0, len(s))
	for p := range s {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// FromFS reads every content file of fsys (templates/ as embedded, or a folder).
func FromFS(fsys fs.FS) (Set, error) {
	s := Set{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || CheckPath(p) != nil {
			return nil // not content (templates.go, a README…)
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if err := CheckSource(p, src); err != nil {
			return err
		}
		s[p] = src
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read content: %w", err)
	}
	return s, nil
}

// YAMLFiles are the marketer's settings files, at the top of the set.
var YAMLFiles = []string{"ranks.yaml", "plans.yaml", "delivery.yaml", "campaigns.yaml", "feedback.yaml", "shop.yaml", "events.yaml", "referrals.yaml", "points.yaml"}

// TemplateFiles are the files a template folder may hold.
var TemplateFiles = []string{"email.subject.liquid", "email.html.liquid", "email.txt.liquid", "line.txt.liquid", "line.flex.json.liquid"}

var segment = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// ErrPath means a path names no content file: a typo, or a trick (.., a
// leading slash, a backslash, an unknown name).
var ErrPath = errors.New("not a content file")

// CheckPath accepts the YAML files and <kind>/<folder>/<template file>,
// in lower case: nothing that could climb out of the set or hide in it.
func CheckPath(p string) error {
	if slices.Contains(YAMLFiles, p) {
		return nil
	}
	parts := strings.Split(p, "/")
	if len(parts) == 3 && message.Kind(parts[0]).Valid() && segment.MatchString(parts[1]) && slices.Contains(TemplateFiles, parts[2]) &&
		path.Clean(p) == p {
		return nil
	}
	return fmt.Errorf("%q: %w (want one of %s, or <kind>/<folder>/<%s>)", p, ErrPath,
		strings.Join(YAMLFiles, ", "), strings.Join(TemplateFiles, "|"))
}

// CheckSource refuses what no file of the set may be: too large, or not UTF-8.
func CheckSource(p string, src []byte) error {
	if len(src) > MaxFileSize {
		return fmt.Errorf("%s: %d bytes, over the limit of %d", p, len(src), MaxFileSize)
	}
	if !utf8.Valid(src) {
		return fmt.Errorf("%s: not valid UTF-8", p)
	}
	return nil
}

// Problem is one thing wrong with a file, where it is.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Column > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Invalid is a save or a publish refused for its problems.
type Invalid struct{ Problems []Problem }

func (e *Invalid) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return "invalid content: " + strings.Join(msgs, "; ")
}

// StaleError refuses a save based on a version that is no longer the latest.
type StaleError struct {
	Path         string
	Base, Latest int
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s: saved on version %d, but version %d exists: compare them and save again", e.Path, e.Base, e.Latest)
}

// ErrNoVersion means a file has no such version.
var ErrNoVersion = errors.New("no such version")

// ErrBusy means another publish went first; publishing again is safe.
var ErrBusy = errors.New("another publish went first")
