// composecheck validates Compose files against the Compose Specification (the schema and the
// semantic checks of compose-go, the library Docker Compose itself uses), offline, with the
// variables they need taken from an env file. It prints the resolved services.
//
//	go run ./tools/composecheck -env docker/example.env docker/compose.yaml [more.yaml ...]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	envFile := flag.String("env", "", "env file supplying the variables (values may be empty: placeholders are used)")
	flag.Parse()
	files := flag.Args()
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "usage: composecheck [-env FILE] compose.yaml [override.yaml ...]")
		os.Exit(2)
	}
	env := map[string]string{}
	if *envFile != "" {
		vars, err := readEnv(*envFile)
		if err != nil {
			fail(err)
		}
		env = vars
	}
	dir, _ := filepath.Abs(filepath.Dir(files[0]))
	options, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(dir),
		cli.WithEnv(flatten(env)),
		cli.WithName("ontograph"),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	names := make([]string, 0, len(project.Services))
	for name := range project.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	fmt.Printf("valid: %d services: %v\n", len(names), names)
}

// readEnv reads KEY=VALUE lines; an empty value gets a placeholder so that required
// variables (${X:?…}) resolve the way they will once the file is filled in.
func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	key, value := "", ""
	for _, line := range splitLines(string(data)) {
		if line == "" || line[0] == '#' {
			continue
		}
		for i := 0; i < len(line); i++ {
			if line[i] == '=' {
				key, value = line[:i], line[i+1:]
				break
			}
		}
		if value == "" {
			value = "placeholder-" + key
		}
		out[key] = value
	}
	return out, nil
}

func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			lines = append(lines, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

func flatten(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "invalid:", err)
	os.Exit(1)
}
