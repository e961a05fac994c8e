// Package apispec checks, in tests, the request bodies our service sends to
// LINE (Messaging API push and multicast) and SendGrid (v3 mail send) against
// the providers' official OpenAPI specs kept in ../shared/specs beside the
// repository. Our code builds those bodies with the providers' Go SDKs, and a
// body the provider rejects only shows up in production; validating against
// the published contract catches that in `go test`.
//
// The specs are used as published, with three narrowly scoped adjustments for
// places where the spec and the real API disagree or kin-openapi falls short:
// LINE top-level null fields, SendGrid top-level custom_args, and LINE's
// base-schema discriminators (see the comments at each).
package apispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const (
	lineSpecFile     = "line-messaging-api.yml"
	sendGridSpecFile = "sendgrid-mail-v3.yaml"
)

// Specs holds the request body schemas of the operations we call.
type Specs struct {
	linePush      *openapi3.Schema // POST /v2/bot/message/push (PushMessageRequest)
	lineMulticast *openapi3.Schema // POST /v2/bot/message/multicast (MulticastRequest)
	lineReply     *openapi3.Schema // POST /v2/bot/message/reply (ReplyMessageRequest)
	sendGridMail  *openapi3.Schema // POST /v3/mail/send
}

// Dir finds ../shared/specs beside the repository root: it walks up from the
// working directory to the directory holding go.mod. ok is false, with the
// reason in why, when there is no go.mod or no specs directory.
func Dir() (dir string, ok bool, why string) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false, "cannot get working directory: " + err.Error()
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", false, "no go.mod found above " + wd
		}
		root = parent
	}
	dir = filepath.Join(filepath.Dir(root), "shared", "specs")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return dir, false, "API specs directory " + dir + " is absent"
	}
	return dir, true, ""
}

// Fixture reads a file of ../shared/fixtures (the providers' official webhook
// samples and signing vectors) byte for byte. When the folder is absent it
// skips the test with the reason.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	specs, ok, why := Dir()
	if !ok && !strings.HasSuffix(why, "is absent") {
		t.Skip("fixtures: " + why)
	}
	dir := filepath.Join(filepath.Dir(specs), "fixtures")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Skip("fixtures: webhook fixtures directory " + dir + " is absent")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("fixtures: %v", err)
	}
	return b
}

var loaded sync.Map // cleaned dir -> func() (*Specs, error) from sync.OnceValues

// Load parses both specs in dir; each dir is parsed once per process.
func Load(dir string) (*Specs, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	once, _ := loaded.LoadOrStore(dir, sync.OnceValues(func() (*Specs, error) { return load(dir) }))
	return once.(func() (*Specs, error))()
}

// ForTest loads the specs for a test. When ../shared/specs is absent it skips
// the test with the reason; any other problem fails it.
func ForTest(t testing.TB) *Specs {
	t.Helper()
	dir, ok, why := Dir()
	if !ok {
		t.Skip("apispec: " + why)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatalf("apispec: %v", err)
	}
	return s
}

func load(dir string) (*Specs, error) {
	line, err := loadDoc(filepath.Join(dir, lineSpecFile))
	if err != nil {
		return nil, err
	}
	if err := dispatchDiscriminators(line); err != nil {
		return nil, fmt.Errorf("%s: %w", lineSpecFile, err)
	}
	sendGrid, err := loadDoc(filepath.Join(dir, sendGridSpecFile))
	if err != nil {
		return nil, err
	}
	s := &Specs{}
	for _, op := range []struct {
		doc    *openapi3.T
		path   string
		schema **openapi3.Schema
	}{
		{line, "/v2/bot/message/push", &s.linePush},
		{line, "/v2/bot/message/multicast", &s.lineMulticast},
		{line, "/v2/bot/message/reply", &s.lineReply},
		{sendGrid, "/v3/mail/send", &s.sendGridMail},
	} {
		if *op.schema, err = requestSchema(op.doc, op.path); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// loadDoc parses one spec and resolves its references. The document as a
// whole is deliberately not validated (doc.Validate): we only need the
// request schemas, and unrelated quirks elsewhere in a vendor spec must not
// stop body validation.
func loadDoc(path string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return doc, nil
}

// requestSchema returns the application/json request body schema of POST path.
func requestSchema(doc *openapi3.T, path string) (*openapi3.Schema, error) {
	item := doc.Paths.Find(path)
	if item == nil || item.Post == nil || item.Post.RequestBody == nil || item.Post.RequestBody.Value == nil {
		return nil, fmt.Errorf("spec has no POST %s request body", path)
	}
	mt := item.Post.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, fmt.Errorf("spec has no application/json schema for POST %s", path)
	}
	return mt.Schema.Value, nil
}

// dispatchDiscriminators makes kin-openapi honour LINE's discriminators.
//
// kin-openapi applies a discriminator only together with oneOf/anyOf. The
// LINE spec instead puts it on a base schema (Message, Action, FlexComponent,
// ...) whose concrete schemas inherit the base through allOf: [base, ...].
// Read literally, a message is checked against the base only (type: string),
// so {"type":"text"} without text, or {"type":""}, would pass.
//
// So every such base B becomes, in place, B plus oneOf the schemas in its
// discriminator mapping; kin-openapi then validates a value against exactly
// the schema its discriminator value names and rejects values not in the
// mapping. The concrete schemas' allOf entries are pointed at a copy of B
// without the discriminator, so they inherit B's constraints without looping
// back into the dispatch.
func dispatchDiscriminators(doc *openapi3.T) error {
	schemas := doc.Components.Schemas
	plain := map[*openapi3.Schema]*openapi3.Schema{} // base -> copy without discriminator
	for _, ref := range schemas {
		s := ref.Value
		if s != nil && s.Discriminator != nil && len(s.Discriminator.Mapping) > 0 && len(s.OneOf)+len(s.AnyOf) == 0 {
			c := *s
			c.Discriminator = nil
			c.AllOf = append(openapi3.SchemaRefs(nil), s.AllOf...)
			plain[s] = &c
		}
	}
	inherit := func(s *openapi3.Schema) {
		for i, item := range s.AllOf {
			if c, ok := plain[item.Value]; ok {
				s.AllOf[i] = &openapi3.SchemaRef{Value: c}
			}
		}
	}
	for _, ref := range schemas {
		if ref.Value != nil {
			inherit(ref.Value)
		}
	}
	for _, c := range plain {
		inherit(c)
	}
	for base := range plain {
		mapping := base.Discriminator.Mapping
		names := make([]string, 0, len(mapping))
		for name := range mapping {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ref := mapping[name].Ref
			if !strings.Contains(ref, "/") { // a plain schema name is allowed too
				ref = "#/components/schemas/" + ref
			}
			target := schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
			if target == nil || target.Value == nil {
				return fmt.Errorf("discriminator mapping %q -> %q: no such schema", name, ref)
			}
			base.OneOf = append(base.OneOf, &openapi3.SchemaRef{Ref: ref, Value: target.Value})
		}
	}
	return nil
}

// ValidateLinePush validates a LINE push message request body.
func (s *Specs) ValidateLinePush(body []byte) error {
	return validateLine("LINE push", s.linePush, body)
}

// ValidateLineMulticast validates a LINE multicast request body.
func (s *Specs) ValidateLineMulticast(body []byte) error {
	return validateLine("LINE multicast", s.lineMulticast, body)
}

// ValidateLineReply validates a LINE reply message request body.
func (s *Specs) ValidateLineReply(body []byte) error {
	return validateLine("LINE reply", s.lineReply, body)
}

func validateLine(what string, schema *openapi3.Schema, body []byte) error {
	v, err := decodeObject(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", what, err)
	}
	// The LINE SDK (line-bot-sdk-go/v8 messaging_api) marshals unset optional
	// fields such as customAggregationUnits as null, and LINE accepts that,
	// though the spec does not mark them nullable. So drop null-valued fields,
	// only these and only at the top level of the request object.
	for k, val := range v {
		if val == nil {
			delete(v, k)
		}
	}
	return visit(what, schema, v)
}

// ValidateSendGridMail validates a SendGrid v3 mail send request body.
func (s *Specs) ValidateSendGridMail(body []byte) error {
	const what = "SendGrid mail send"
	v, err := decodeObject(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", what, err)
	}
	// The spec types the top-level custom_args as a string, but the API and
	// sendgrid-go use an object of string values. Check that shape here and
	// leave the rest of the body to the schema; any other custom_args type
	// still goes to the schema and fails there.
	if args, ok := v["custom_args"].(map[string]any); ok {
		for name, a := range args {
			if _, ok := a.(string); !ok {
				return fmt.Errorf("%s body: custom_args[%q] is %T, want a string", what, name, a)
			}
		}
		delete(v, "custom_args")
	}
	return visit(what, s.sendGridMail, v)
}

func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: trailing data")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %T", v)
	}
	return m, nil
}

func visit(what string, schema *openapi3.Schema, v map[string]any) error {
	err := schema.VisitJSON(v,
		openapi3.MultiErrors(),
		openapi3.DisableSchemaErrorDetails(), // the path and reason suffice; schema dumps run to pages
		openapi3.WithStringFormatValidator("email", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail)))
	if err != nil {
		return fmt.Errorf("%s body does not match the spec: %w", what, err)
	}
	return nil
}
