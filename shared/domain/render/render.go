// Package render turns marketer-owned Liquid templates into the exact content
// of a message: an email's subject, HTML and text, or a LINE text or Flex message.
//
// Templates live in one folder per (kind, rank): templates/<kind>/<rank>/, with
// email.subject.liquid, email.html.liquid, email.txt.liquid and either
// line.txt.liquid or line.flex.json.liquid. A rank without its own folder uses
// templates/<kind>/default/. Everything is parsed when the library is loaded, so
// a broken template fails at load time with its file and line, never half-way
// through a send.
package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/osteele/liquid"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

// DefaultRank names the folder used when a rank has no templates of its own.
const DefaultRank = "default"

// LapsedRank names the folder of a kind's words for every lapsed customer
// whose rank has no lapsed folder of its own (<rank>-lapsed).
const LapsedRank = "lapsed"

// The files of a template set.
const (
	fileSubject = "email.subject.liquid"
	fileHTML    = "email.html.liquid"
	fileText    = "email.txt.liquid"
	fileLINE    = "line.txt.liquid"
	fileFlex    = "line.flex.json.liquid"
)

// Email is a rendered email.
type Email struct {
	Subject string
	HTML    string
	Text    string
}

// LINE is a rendered LINE message: plain text, or a Flex message object
// ({"type":"flex","altText":…,"contents":…}) kept as the marketer wrote it.
type LINE struct {
	Text string
	Flex json.RawMessage
	// QuickReply are the buttons shown under the message (feedback ratings,
	// yes/no); tapping one posts its Data back through the webhook.
	QuickReply []QuickReply
}

// QuickReply is one postback button under a LINE message.
type QuickReply struct {
	Label       string // up to 20 characters
	Data        string // postback data, up to 300 characters
	DisplayText string // what the chat shows as the customer's answer
}

// Rendered is a message ready for one channel, and the template that made it.
type Rendered struct {
	Template string // e.g. "thank-you/royal/email"
	Email    *Email
	LINE     *LINE
}

// LINEFile names the template file a rendered LINE message came from.
func (r *Rendered) LINEFile() string {
	dir := strings.TrimSuffix(r.Template, "/"+string(customer.LINE))
	if r.LINE != nil && r.LINE.Flex != nil {
		return path.Join(dir, fileFlex)
	}
	return path.Join(dir, fileLINE)
}

// set is the parsed templates of one (kind, rank) folder.
type set struct {
	dir                 string
	subject, html, text *liquid.Template
	line, flex          *liquid.Template
	// usesVoices: some file of the set quotes customer voice, which the
	// sender then reads for it.
	usesVoices bool
	// usesOrder: some file of the set speaks of an order; a message not
	// about an order (a lapsed note) then gets the customer's latest.
	usesOrder bool
	// usesReferral: some file shows the customer's referral code or link,
	// which the sender then makes sure they have.
	usesReferral bool
}

// Library holds every parsed template.
type Library struct {
	engine *liquid.Engine
	sets   map[string]*set // "<kind>/<rank>"
}

// Error is a template problem, with the file and line it is on.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load parses every template of every message kind found in fsys. It
// reports every file that does not parse, not only the first.
func Load(fsys fs.FS) (*Library, error) {
	lib := &Library{engine: newEngine(), sets: map[string]*set{}}
	var errs []error
	for _, kind := range message.Kinds {
		ranks, err := fs.ReadDir(fsys, string(kind))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read templates of %s: %w", kind, err)
		}
		for _, d := range ranks {
			if !d.IsDir() {
				continue
			}
			s, err := lib.parseSet(fsys, path.Join(string(kind), d.Name()))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			lib.sets[s.dir] = s
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return lib, nil
}

// CheckFile checks one template file alone, as Load and a send would: its
// Liquid parses, it renders for a sample customer (an unknown variable or
// filter fails here), and it keeps the honesty rules. It returns an *Error
// with the line of the problem.
func CheckFile(file string, src []byte) error {
	t, err := parse(newEngine(), file, src)
	if err != nil {
		return &Error{File: file, Line: err.LineNumber(), Msg: causeOf(err)}
	}
	if err := checkHonest(file, src); err != nil {
		return err
	}
	if err := checkLoops(file, src); err != nil {
		return err
	}
	if err := checkTags(file, src); err != nil {
		return err
	}
	escape := noEscape
	switch path.Base(file) {
	case fileHTML:
		escape = html.EscapeString
	case fileFlex:
		escape = jsonEscape
	}
	_, rerr := renderBounded(file, t, Sample(Shop{Name: "見本の店"}, "new", "見本", false).bindings(escape))
	return rerr
}

func (lib *Library) parseSet(fsys fs.FS, dir string) (*set, error) {
	s := &set{dir: dir}
	var errs []error
	for name, dst := range map[string]**liquid.Template{
		fileSubject: &s.subject, fileHTML: &s.html, fileText: &s.text,
		fileLINE: &s.line, fileFlex: &s.flex,
	} {
		file := path.Join(dir, name)
		src, err := fs.ReadFile(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read template %s: %w", file, err)
		}
		t, serr := parse(lib.engine, file, src)
		if serr != nil {
			errs = append(errs, &Error{File: file, Line: serr.LineNumber(), Msg: causeOf(serr)})
			continue
		}
		if err := checkHonest(file, src); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkLoops(file, src); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := checkTags(file, src); err != nil {
			errs = append(errs, err)
			continue
		}
		s.usesVoices = s.usesVoices || (bytes.Contains(src, []byte("voices")) && voicesRE.Match(src))
		s.usesOrder = s.usesOrder || orderRE.Match(src)
		s.usesReferral = s.usesReferral || bytes.Contains(src, []byte("referral."))
		*dst = t
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	hasEmail := s.subject != nil || s.html != nil || s.text != nil
	if hasEmail && (s.subject == nil || s.html == nil || s.text == nil) {
		return nil, &Error{File: dir, Msg: "an email needs all of " + fileSubject + ", " + fileHTML + " and " + fileText}
	}
	if s.line != nil && s.flex != nil {
		return nil, &Error{File: dir, Msg: "choose one of " + fileLINE + " and " + fileFlex}
	}
	return s, nil
}

// Ref names one template folder: a kind and a rank (or DefaultRank).
type Ref struct {
	Kind message.Kind
	Rank string
}

// Refs lists every template folder, sorted.
func (lib *Library) Refs() []Ref {
	refs := make([]Ref, 0, len(lib.sets))
	for dir := range lib.sets {
		kind, rk, _ := strings.Cut(dir, "/")
		refs = append(refs, Ref{Kind: message.Kind(kind), Rank: rk})
	}
	slices.SortFunc(refs, func(a, b Ref) int {
		return strings.Compare(string(a.Kind)+"/"+a.Rank, string(b.Kind)+"/"+b.Rank)
	})
	return refs
}

// Has reports whether a kind has a template for a rank (or a default) on a channel.
func (lib *Library) Has(kind message.Kind, rk rank.Rank, ch customer.Channel) bool {
	_, ok := lib.find(kind, rk, ch)
	return ok
}

// find picks the most specific set that has the channel: for a lapsed
// customer <rank>-lapsed, then the kind's lapsed words (LapsedRank), then
// <rank>, then default. A lapsed customer must not be greeted as a new or a
// regular one.
func (lib *Library) find(kind message.Kind, rk rank.Rank, ch customer.Channel) (*set, bool) {
	var names []string
	if rk.Lapsed {
		names = append(names, rk.ID+"-lapsed", LapsedRank)
	}
	names = append(names, rk.ID, DefaultRank)
	for _, n := range names {
		s, ok := lib.sets[string(kind)+"/"+n]
		if !ok {
			continue
		}
		if s.has(ch) {
			return s, true
		}
	}
	return nil, false
}

// Resolve names the folder whose template a kind uses for a rank on a
// channel (the rank's own, its lapsed variant, or the kind's default).
func (lib *Library) Resolve(kind message.Kind, rk rank.Rank, ch customer.Channel) (string, bool) {
	s, ok := lib.find(kind, rk, ch)
	if !ok {
		return "", false
	}
	return s.dir, true
}

// UsesVoices reports whether a template folder quotes customer voice (the
// voices variable): only then is it read for a message.
func (lib *Library) UsesVoices(dir string) bool {
	s, ok := lib.sets[dir]
	return ok && s.usesVoices
}

// orderRE finds a template that uses the order variable.
var orderRE = regexp.MustCompile(`\border\.`)

// UsesOrder reports whether a template folder speaks of an order.
func (lib *Library) UsesOrder(dir string) bool {
	s, ok := lib.sets[dir]
	return ok && s.usesOrder
}

// UsesReferral reports whether a template folder shows the customer's
// referral code or links (the referral variable).
func (lib *Library) UsesReferral(dir string) bool {
	s, ok := lib.sets[dir]
	return ok && s.usesReferral
}

// HasDir reports whether a template folder (e.g. "step/new-arrival") exists.
func (lib *Library) HasDir(dir string) bool {
	_, ok := lib.sets[dir]
	return ok
}

// HasIn reports whether a template folder has a template for a channel.
func (lib *Library) HasIn(dir string, ch customer.Channel) bool {
	s, ok := lib.sets[dir]
	return ok && s.has(ch)
}

func (s *set) has(ch customer.Channel) bool {
	return (ch == customer.Email && s.subject != nil) || (ch == customer.LINE && (s.line != nil || s.flex != nil))
}

// ErrNoTemplate means neither the rank nor the default has a template for the channel.
var ErrNoTemplate = errors.New("no template")

// Render renders the message of a kind for a rank on a channel.
func (lib *Library) Render(kind message.Kind, rk rank.Rank, ch customer.Channel, d Data) (*Rendered, error) {
	s, ok := lib.find(kind, rk, ch)
	if !ok {
		return nil, fmt.Errorf("render %s for %s on %s: %w", kind, rk, ch, ErrNoTemplate)
	}
	return lib.render(s, ch, d)
}

// RenderIn renders the template of a folder (a plan step's) on a channel.
func (lib *Library) RenderIn(dir string, ch customer.Channel, d Data) (*Rendered, error) {
	s, ok := lib.sets[dir]
	if !ok || !s.has(ch) {
		return nil, fmt.Errorf("render %s on %s: %w", dir, ch, ErrNoTemplate)
	}
	return lib.render(s, ch, d)
}

func (lib *Library) render(s *set, ch customer.Channel, d Data) (*Rendered, error) {
	out := &Rendered{Template: s.dir + "/" + string(ch)}
	plain := d.bindings(noEscape)
	switch ch {
	case customer.Email:
		subject, err := lib.run(s.dir, fileSubject, s.subject, plain)
		if err != nil {
			return nil, err
		}
		body, err := lib.run(s.dir, fileHTML, s.html, d.bindings(html.EscapeString))
		if err != nil {
			return nil, err
		}
		text, err := lib.run(s.dir, fileText, s.text, plain)
		if err != nil {
			return nil, err
		}
		out.Email = &Email{Subject: strings.TrimSpace(subject), HTML: body, Text: text}
	case customer.LINE:
		if s.flex != nil {
			raw, err := lib.run(s.dir, fileFlex, s.flex, d.bindings(jsonEscape))
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, []byte(raw)); err != nil {
				return nil, &Error{File: path.Join(s.dir, fileFlex), Msg: "rendered Flex message is not valid JSON: " + err.Error()}
			}
			out.LINE = &LINE{Flex: buf.Bytes()}
		} else {
			text, err := lib.run(s.dir, fileLINE, s.line, plain)
			if err != nil {
				return nil, err
			}
			out.LINE = &LINE{Text: strings.TrimSpace(text)}
		}
	default:
		return nil, fmt.Errorf("render %s: unknown channel %q", s.dir, ch)
	}
	return out, nil
}

func (lib *Library) run(dir, file string, t *liquid.Template, b liquid.Bindings) (string, error) {
	return renderBounded(path.Join(dir, file), t, b)
}

// causeOf strips liquid's own location prefix, which our Error already carries.
func causeOf(err liquid.SourceError) string {
	if c := err.Cause(); c != nil {
		return c.Error()
	}
	return err.Error()
}
