package config

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/config/spec"
)

//go:generate go run ./internal/writeexample roomwire.example.yaml

const exampleHeader = `# Roomwire configuration. Every key is optional; the values shown are the
# defaults. Environment variables override the file (named beside each key).
#
# Generated from the configuration spec (the tags of config.Config and of the
# sections it embeds) by go generate ./config: edit the spec, not this file.
`

// connectorsExample follows the connectors key: instances of three kinds,
// two of them OpenTravel channels.
const connectorsExample = `#  apaleo:
#    client_id: my-client
#    properties: [LIS]
#    stay_master: roomwire    # check-in, check-out and no-show sent to Apaleo; apaleo: left to its front desk
#  ota:
#    channel: myota
#    ari_url: https://ota.example.com/ari
#    report_url: https://ota.example.com/reservations  # no-shows, if the channel takes them
#  second-ota:               # another OpenTravel channel: an instance of kind ota
#    kind: ota               # defaults to the instance's name (the key)
#    ari_url: https://other-channel.example.com/ari   # its secrets: ROOMWIRE_SECOND_OTA_INBOUND_PASSWORD, ...
#  stripe: {}                # ROOMWIRE_STRIPE_SECRET_KEY, ROOMWIRE_STRIPE_WEBHOOK_SECRET
`

// Example renders the configuration file with every key at its default,
// each documented from the spec: config/roomwire.example.yaml.
func Example() []byte {
	var b bytes.Buffer
	b.WriteString(exampleHeader)
	for _, f := range spec.Of[Config]() {
		indent := strings.Repeat("  ", f.Depth())
		if f.Depth() == 0 {
			b.WriteString("\n")
		}
		writeComment(&b, indent, f.Doc())
		if f.Section() {
			fmt.Fprintf(&b, "%s%s:\n", indent, f.Key())
			continue
		}
		line := fmt.Sprintf("%s%s: %s", indent, f.Key(), exampleValue(f))
		if f.Env != "" {
			line += "  # " + f.Env
		}
		b.WriteString(line + "\n")
		if f.Name == "connectors" {
			b.WriteString(connectorsExample)
		}
	}
	return b.Bytes()
}

// writeComment writes text as comment lines of at most 80 columns.
func writeComment(b *bytes.Buffer, indent, text string) {
	if text == "" {
		return
	}
	line := indent + "#"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 80 && line != indent+"#" {
			b.WriteString(line + "\n")
			line = indent + "#"
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

// exampleValue is the YAML form of f's default.
func exampleValue(f spec.Field) string {
	switch f.Type {
	case "map":
		return "{}"
	case "[]string":
		var list []string
		for _, s := range strings.Split(f.Default, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		return flowYAML(list)
	case "int", "float":
		if f.Default == "" {
			return "0"
		}
	case "bool":
		if f.Default == "" {
			return "false"
		}
	case "duration":
		if f.Default == "" {
			return "0s"
		}
	case "string":
		return flowYAML(f.Default)
	}
	return f.Default
}

// flowYAML renders v on one line, quoted where YAML needs it.
func flowYAML(v any) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		panic(err)
	}
	n.Style = yaml.FlowStyle
	if s, ok := v.(string); ok && s == "" {
		return `""`
	}
	if err := enc.Encode(n); err != nil {
		panic(err)
	}
	return strings.TrimSpace(b.String())
}
