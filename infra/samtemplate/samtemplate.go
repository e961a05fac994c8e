// Package samtemplate reads the SAM template (template.yaml), the one place the
// tables, functions and their events are declared, so that local runs and
// tests build exactly what is deployed.
package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Template is the part of a SAM template daifuku reads. Intrinsic functions
// (!Ref, !Sub, !GetAtt) stay as tagged yaml.Nodes inside Properties.
type Template struct {
	Resources map[string]Resource `yaml:"Resources"`
	Globals   yaml.Node           `yaml:"Globals"`
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string    `yaml:"Type"`
	Properties yaml.Node `yaml:"Properties"`
	Metadata   yaml.Node `yaml:"Metadata"`
	// DeletionPolicy: "Retain" keeps the resource when the stack goes.
	DeletionPolicy string `yaml:"DeletionPolicy"`
}

// Load parses a template file.
func Load(path string) (*Template, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SAM template: %w", err)
	}
	var t Template
	if err := yaml.Unmarshal(src, &t); err != nil {
		return nil, fmt.Errorf("parse SAM template %s: %w", path, err)
	}
	return &t, nil
}

// RepoRoot walks up from the working directory to the folder holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// LoadRepo loads template.yaml at the repository root.
func LoadRepo() (*Template, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	return Load(filepath.Join(root, "template.yaml"))
}

// OfType returns the logical ids of resources of a type, e.g. "AWS::Serverless::Function".
func (t *Template) OfType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	return ids
}
