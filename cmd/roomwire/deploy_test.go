package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/roomwire/roomwire/config"
)

// The schema check of deploy/ is in CI (kubernetes-validate, systemd-analyze);
// this test holds what a schema cannot: the manifests agree with the hub.
func TestDeployFilesAgreeWithTheHub(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy")
	read := func(name string, v any) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	read("kubernetes/configmap.yaml", &cm)
	cfg := &config.Config{}
	if err := config.Parse([]byte(cm.Data["roomwire.yaml"]), cfg); err != nil {
		t.Fatalf("the ConfigMap's roomwire.yaml: %v", err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the ConfigMap's roomwire.yaml: %v", err)
	}
	if cfg.UsesEmbeddedBroker() {
		t.Errorf("the ConfigMap names no Kafka brokers: each replica would run its own embedded broker")
	}

	type probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
		} `yaml:"httpGet"`
	}
	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Grace      int `yaml:"terminationGracePeriodSeconds"`
					Containers []struct {
						Liveness  probe `yaml:"livenessProbe"`
						Readiness probe `yaml:"readinessProbe"`
						Lifecycle struct {
							PreStop struct {
								Sleep struct {
									Seconds int `yaml:"seconds"`
								} `yaml:"sleep"`
							} `yaml:"preStop"`
						} `yaml:"lifecycle"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	read("kubernetes/deployment.yaml", &dep)
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Liveness.HTTPGet.Path != "/healthz" || c.Readiness.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %q, readiness %q", c.Liveness.HTTPGet.Path, c.Readiness.HTTPGet.Path)
	}
	drain := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + cfg.HTTP.ShutdownTimeout
	if grace := time.Duration(pod.Grace) * time.Second; grace < drain+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds %s leaves under 10s after the preStop pause and the drain (%s)", grace, drain)
	}

	unit, err := os.ReadFile(filepath.Join(dir, "systemd", "roomwire.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)$`).FindSubmatch(unit)
	def := &config.Config{}
	def.SetDefaults()
	if m == nil {
		t.Fatal("the unit sets no TimeoutStopSec")
	}
	if s, _ := strconv.Atoi(string(m[1])); time.Duration(s)*time.Second < def.HTTP.ShutdownTimeout+10*time.Second {
		t.Errorf("TimeoutStopSec=%ss is shorter than the default drain (%s) and 10s", m[1], def.HTTP.ShutdownTimeout)
	}
}
