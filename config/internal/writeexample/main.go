// Command writeexample writes config.Example() to the file named by its
// argument: go generate ./config runs it for roomwire.example.yaml.
package main

import (
	"fmt"
	"os"

	"github.com/roomwire/roomwire/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: writeexample FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], config.Example(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
