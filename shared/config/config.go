// Package config loads what the functions run on: the marketer-owned content
// (rank rules, shop, templates) and the clients for DynamoDB, SQS, LINE and
// SendGrid, from the environment.
package config

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/rank"
	"github.com/daifuku/daifuku/shared/render"
	"github.com/daifuku/daifuku/templates"
)

// Content is the marketer-owned configuration.
type Content struct {
	Rules     *rank.Rules
	Templates *render.Library
	Shop      render.Shop
}

// LoadContent reads and validates ranks.yaml, shop.yaml and every template in fsys.
func LoadContent(fsys fs.FS) (*Content, error) {
	src, err := fs.ReadFile(fsys, "ranks.yaml")
	if err != nil {
		return nil, fmt.Errorf("read rank rules: %w", err)
	}
	rules, err := rank.ParseRules("templates/ranks.yaml", src)
	if err != nil {
		return nil, err
	}
	var shop render.Shop
	src, err = fs.ReadFile(fsys, "shop.yaml")
	if err != nil {
		return nil, fmt.Errorf("read shop: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&shop); err != nil {
		return nil, fmt.Errorf("templates/shop.yaml: %w", err)
	}
	if shop.Name == "" || shop.FromEmail == "" {
		return nil, fmt.Errorf("templates/shop.yaml: name and from_email are required")
	}
	lib, err := render.Load(fsys)
	if err != nil {
		return nil, err
	}
	return &Content{Rules: rules, Templates: lib, Shop: shop}, nil
}

// ContentFromEnv loads the content from $TEMPLATES_DIR, or the embedded copy.
func ContentFromEnv() (*Content, error) {
	if dir := os.Getenv("TEMPLATES_DIR"); dir != "" {
		return LoadContent(os.DirFS(dir))
	}
	return LoadContent(templates.FS)
}
