package render

import (
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
)

// flexNode is one Flex component, with the common properties the preview
// shows (LINE's own renderer knows many more; the rest is ignored).
type flexNode struct {
	Type            string          `json:"type"`
	AltText         string          `json:"altText"`
	Contents        json.RawMessage `json:"contents"`
	Header          *flexNode       `json:"header"`
	Hero            *flexNode       `json:"hero"`
	Body            *flexNode       `json:"body"`
	Footer          *flexNode       `json:"footer"`
	Layout          string          `json:"layout"`
	Text            string          `json:"text"`
	URL             string          `json:"url"`
	PreviewURL      string          `json:"previewUrl"`
	Size            string          `json:"size"`
	Weight          string          `json:"weight"`
	Color           string          `json:"color"`
	Align           string          `json:"align"`
	Wrap            bool            `json:"wrap"`
	Margin          string          `json:"margin"`
	Spacing         string          `json:"spacing"`
	BackgroundColor string          `json:"backgroundColor"`
	PaddingAll      string          `json:"paddingAll"`
	CornerRadius    string          `json:"cornerRadius"`
	AspectRatio     string          `json:"aspectRatio"`
	Style           string          `json:"style"`
	Flex            *int            `json:"flex"`
	Action          *struct {
		Label string `json:"label"`
		URI   string `json:"uri"`
	} `json:"action"`
}

var flexSizes = map[string]string{"xxs": "10px", "xs": "11px", "sm": "13px", "md": "14px", "lg": "16px", "xl": "18px",
	"xxl": "22px", "3xl": "26px", "4xl": "30px", "5xl": "36px"}

var flexSpace = map[string]string{"none": "0", "xs": "2px", "sm": "4px", "md": "8px", "lg": "12px", "xl": "16px", "xxl": "20px"}

// FlexHTML draws a Flex message ({"type":"flex","altText",…,"contents"})
// as LINE shows it, for a preview: bubbles and carousels of boxes, texts,
// images, buttons, separators, spacers and icons. Every value is escaped;
// images are drawn from their URLs.
func FlexHTML(raw []byte) (html string, altText string, err error) {
	var msg flexNode
	if err := json.Unmarshal(raw, &msg); err != nil {
		return "", "", fmt.Errorf("flex message: %w", err)
	}
	if msg.Type != "flex" {
		return "", "", fmt.Errorf("flex message: type %q, want \"flex\"", msg.Type)
	}
	var root flexNode
	if err := json.Unmarshal(msg.Contents, &root); err != nil {
		return "", "", fmt.Errorf("flex contents: %w", err)
	}
	var b strings.Builder
	if err := drawFlex(&b, &root, ""); err != nil {
		return "", "", err
	}
	return b.String(), msg.AltText, nil
}

func drawFlex(b *strings.Builder, n *flexNode, parentLayout string) error {
	e := html.EscapeString
	style := func(props ...string) string {
		var s []string
		for i := 0; i+1 < len(props); i += 2 {
			// Only plain values (a colour, a size, a number): a value such as
			// "red;position:fixed" would restyle the studio page itself.
			if v := props[i+1]; v != "" && safeStyle.MatchString(v) {
				s = append(s, props[i]+":"+e(v))
			}
		}
		if len(s) == 0 {
			return ""
		}
		return ` style="` + strings.Join(s, ";") + `"`
	}
	margin := flexSpace[n.Margin]
	grow := ""
	if n.Flex != nil {
		grow = fmt.Sprint(*n.Flex)
	} else if parentLayout == "horizontal" || parentLayout == "baseline" {
		grow = "1"
	}
	switch n.Type {
	case "carousel":
		var bubbles []flexNode
		if err := json.Unmarshal(n.Contents, &bubbles); err != nil {
			return fmt.Errorf("carousel contents: %w", err)
		}
		b.WriteString(`<div class="flex-carousel">`)
		for i := range bubbles {
			if err := drawFlex(b, &bubbles[i], ""); err != nil {
				return err
			}
		}
		b.WriteString(`</div>`)
	case "bubble":
		b.WriteString(`<div class="flex-bubble">`)
		for _, part := range []struct {
			name string
			n    *flexNode
		}{{"header", n.Header}, {"hero", n.Hero}, {"body", n.Body}, {"footer", n.Footer}} {
			if part.n == nil {
				continue
			}
			b.WriteString(`<div class="flex-` + part.name + `">`)
			if err := drawFlex(b, part.n, ""); err != nil {
				return err
			}
			b.WriteString(`</div>`)
		}
		b.WriteString(`</div>`)
	case "box":
		var kids []flexNode
		if len(n.Contents) > 0 {
			if err := json.Unmarshal(n.Contents, &kids); err != nil {
				return fmt.Errorf("box contents: %w", err)
			}
		}
		dir := "column"
		if n.Layout == "horizontal" || n.Layout == "baseline" {
			dir = "row"
		}
		b.WriteString(`<div class="flex-box"` + style("display", "flex", "flex-direction", dir, "gap", flexSpace[n.Spacing],
			"margin-top", margin, "background", n.BackgroundColor, "padding", pick(flexSpace[n.PaddingAll], n.PaddingAll),
			"border-radius", pick(flexSpace[n.CornerRadius], n.CornerRadius), "flex", grow) + `>`)
		for i := range kids {
			if err := drawFlex(b, &kids[i], n.Layout); err != nil {
				return err
			}
		}
		b.WriteString(`</div>`)
	case "text":
		ws := "nowrap"
		if n.Wrap {
			ws = "pre-wrap"
		}
		weight := ""
		if n.Weight == "bold" {
			weight = "bold"
		}
		b.WriteString(`<div class="flex-text"` + style("font-size", pick(flexSizes[n.Size], flexSizes["md"]), "font-weight", weight,
			"color", n.Color, "text-align", n.Align, "white-space", ws, "margin-top", margin, "flex", grow) + `>` + e(n.Text))
		if len(n.Contents) > 0 { // spans
			var spans []flexNode
			if err := json.Unmarshal(n.Contents, &spans); err != nil {
				return fmt.Errorf("text contents: %w", err)
			}
			for i := range spans {
				if err := drawFlex(b, &spans[i], ""); err != nil {
					return err
				}
			}
		}
		b.WriteString(`</div>`)
	case "image", "icon", "video":
		src := n.URL
		if n.Type == "video" {
			src = n.PreviewURL
		}
		if !strings.HasPrefix(src, "https://") {
			src = "" // LINE shows only https images
		}
		b.WriteString(`<img class="flex-` + n.Type + `" alt="" src="` + e(src) + `"` + style("aspect-ratio",
			strings.ReplaceAll(n.AspectRatio, ":", "/"), "margin-top", margin) + `>`)
	case "button":
		label := ""
		if n.Action != nil {
			label = n.Action.Label
		}
		b.WriteString(`<div class="flex-button flex-button-` + e(pick(n.Style, "link")) + `"` + style("background", n.Color,
			"margin-top", margin, "flex", grow) + `>` + e(label) + `</div>`)
	case "separator":
		b.WriteString(`<hr class="flex-separator"` + style("border-color", n.Color, "margin-top", margin) + `>`)
	case "spacer":
		b.WriteString(`<div class="flex-spacer"` + style("height", pick(flexSpace[n.Size], "8px")) + `></div>`)
	case "span":
		b.WriteString(`<span` + style("color", n.Color, "font-size", flexSizes[n.Size]) + `>` + e(n.Text) + `</span>`)
	case "filler":
		b.WriteString(`<div style="flex:1"></div>`)
	default:
		return fmt.Errorf("flex: unknown component %q", n.Type)
	}
	return nil
}

// safeStyle is a CSS value with no way out of its property.
var safeStyle = regexp.MustCompile(`^[#a-zA-Z0-9.%/ -]{1,40}$`)

func pick(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
