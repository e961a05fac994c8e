// Package yamlfile decodes parts of marketer-owned YAML files strictly
// (unknown keys are errors), keeping the line numbers of the file.
package yamlfile

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// Decode decodes a node into v, rejecting unknown keys. Errors read
// "line N: …" with N a line of the original file.
func Decode(n *yaml.Node, v any) error {
	// yaml.v3 checks unknown fields only through a Decoder: re-encode the node.
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		// Lines in the re-encoded node start at 1: shift them back.
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			l, _ := strconv.Atoi(m[1])
			return fmt.Errorf("line %d: %s", l+n.Line-1, m[2])
		}
		return err
	}
	return nil
}
