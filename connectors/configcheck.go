package connectors

import (
	"errors"
	"strings"

	"github.com/roomwire/roomwire/config/spec"
)

// ValidateConfig checks cfg, a pointer to a connector's Config, against its
// spec (required keys, enums, ranges, URLs), adds the connector's own
// problems (nil ones are none: the checks its tags cannot say), and returns
// them all in one error in the connector's name.
func ValidateConfig(kind string, cfg any, own ...error) error {
	var msgs []string
	for _, p := range spec.Check(cfg) {
		msgs = append(msgs, p.String())
	}
	for _, err := range own {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(kind + ": " + strings.Join(msgs, "; "))
}
