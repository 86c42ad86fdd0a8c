#!/usr/bin/env bash
# Runs README.md's "Adding a recipe" commands exactly as written (the sh block after the
# <!-- adding-a-recipe --> marker), then checks what they made: a recipe whose model is the
# smaller ResNet-18 FGReID, built as its own binary with no CMake edit. The commands address
# recipes/ and build/ relative to the repository root; they run in a scratch folder whose
# recipes/ and build/ are links to this tree's, and the new recipe is removed afterwards.
# Usage: readme_recipe.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
source_dir=$(cd "$1" && pwd)
binary_dir=$(cd "$2" && pwd)
recipe=my_market

snippet=$(awk '/<!-- adding-a-recipe -->/ {found = 1; next}
               found && /^```sh/ {inside = 1; next}
               inside && /^```/ {exit}
               inside {print}' "$source_dir/README.md")
if [ -z "$snippet" ]; then
  echo "README.md: no sh block after <!-- adding-a-recipe -->" >&2
  exit 1
fi
if [ -e "$source_dir/recipes/$recipe.hpp" ]; then
  echo "recipes/$recipe.hpp exists already: not overwriting it (remove it to run this test)" >&2
  exit 1
fi

scratch=$(mktemp -d)
cleanup() {
  rm -f "$source_dir/recipes/$recipe.hpp" "$binary_dir/recipe_$recipe"
  rm -rf "$scratch"
}
trap cleanup EXIT
ln -s "$source_dir/recipes" "$scratch/recipes"
ln -s "$binary_dir" "$scratch/build"

echo "--- running README.md's snippet:"
echo "$snippet"
output=$(cd "$scratch" && bash -euo pipefail -c "$snippet")

grep -q 'FGReIDImage<models::ResNet<18, 1>>' "$source_dir/recipes/$recipe.hpp" ||
  { echo "the snippet's sed did not change the model (README out of date?)" >&2; exit 1; }
grep -q 'SeedIdentityChunks<16, 4>' "$source_dir/recipes/$recipe.hpp" ||
  { echo "the snippet's sed did not change the sampler (README out of date?)" >&2; exit 1; }
grep -q 'namespace fgreid::recipes::my_market' "$source_dir/recipes/$recipe.hpp" ||
  { echo "the snippet's sed did not rename the namespace" >&2; exit 1; }

# Its --print-model counts the parameters of two ResNet-18 trunks: fewer than the ResNet-50 one's.
parameters() { grep -m1 -o 'parameters[^0-9]*[0-9][0-9,.]*[0-9]' | tr -dc '0-9'; }
new_count=$(printf '%s\n' "$output" | parameters)
old_count=$("$binary_dir/recipe_market_image" --print-model | parameters)
echo "--- parameters: $recipe $new_count, market_image $old_count"
[ -n "$new_count" ] && [ -n "$old_count" ] && [ "$new_count" -lt "$old_count" ] ||
  { echo "recipe_$recipe --print-model does not show the smaller network" >&2; exit 1; }
