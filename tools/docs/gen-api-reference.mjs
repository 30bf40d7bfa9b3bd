#!/usr/bin/env node
// Generates docs/packages/api/<package>.md from each package's TypeScript source: every export of
// src/index.ts, then of src/node.ts (the `./node` entry) when there is one, with its signature, its
// JSDoc and its @example. The docs include these files, so the API pages cannot drift from the code.
//
//   node tools/docs/gen-api-reference.mjs           # write the files
//   node tools/docs/gen-api-reference.mjs --check   # exit 1 if a file is out of date
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { formatMarkdown } from './format-markdown.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The published packages in dependency order (docs/.vitepress/packages.json, the one list). */
export const API_PACKAGES = JSON.parse(
  readFileSync(join(ROOT, 'docs', '.vitepress', 'packages.json'), 'utf8'),
);
const OUT_DIR = join(ROOT, 'docs', 'packages', 'api');

const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** Escapes prose for VitePress markdown: no HTML tags, no Vue interpolation. */
function prose(text) {
  return text
    .replace(
      /\{@link\s+([^}|\s]+)(?:\s*\|\s*([^}]+)|\s+([^}]+))?\}/g,
      (_, target, a, b) => `\`${(a ?? b ?? target).trim()}\``,
    )
    .split(/(`[^`]*`)/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\{\{/g, '&#123;&#123;'),
    )
    .join('');
}

function docOf(symbol, checker) {
  const text = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
  const tags = symbol
    .getJsDocTags(checker)
    .map((t) => ({ name: t.name, text: ts.displayPartsToString(t.text ?? []).trim() }));
  return { text, tags };
}

/** The `@example` tag body as a fenced block (it usually carries its own fence). */
function exampleBlock(tags) {
  const out = [];
  for (const tag of tags.filter((t) => t.name === 'example')) {
    const body = tag.text.trim();
    if (!body) continue;
    out.push(body.startsWith('```') ? body : `\`\`\`ts\n${body}\n\`\`\``);
  }
  return out.join('\n\n');
}

function isPrivateMember(member) {
  if (member.name && ts.isPrivateIdentifier(member.name)) return true;
  const mods = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
  if (
    mods.some(
      (m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword,
    )
  )
    return true;
  const tags = ts.getJSDocTags(member).map((t) => t.tagName.text);
  return tags.includes('internal');
}

/** A declaration without bodies, private members or comments, as TypeScript source. */
function signatureOf(decl, sf, checker, name) {
  const f = ts.factory;
  if (ts.isFunctionDeclaration(decl)) {
    return printer.printNode(
      ts.EmitHint.Unspecified,
      f.updateFunctionDeclaration(
        decl,
        stripExport(decl.modifiers),
        decl.asteriskToken,
        decl.name,
        decl.typeParameters,
        declParams(decl.parameters, checker),
        decl.type,
        undefined,
      ),
      sf,
    );
  }
  if (ts.isClassDeclaration(decl)) {
    const members = decl.members
      .filter(
        (m) =>
          !isPrivateMember(m) &&
          !ts.isClassStaticBlockDeclaration(m) &&
          !ts.isSemicolonClassElement(m),
      )
      .map((m) => {
        if (ts.isMethodDeclaration(m)) {
          return f.updateMethodDeclaration(
            m,
            m.modifiers,
            m.asteriskToken,
            m.name,
            m.questionToken,
            m.typeParameters,
            declParams(m.parameters, checker),
            m.type,
            undefined,
          );
        }
        if (ts.isConstructorDeclaration(m))
          return f.updateConstructorDeclaration(
            m,
            m.modifiers,
            declParams(m.parameters, checker),
            undefined,
          );
        if (ts.isGetAccessorDeclaration(m))
          return f.updateGetAccessorDeclaration(
            m,
            m.modifiers,
            m.name,
            m.parameters,
            m.type,
            undefined,
          );
        if (ts.isSetAccessorDeclaration(m))
          return f.updateSetAccessorDeclaration(m, m.modifiers, m.name, m.parameters, undefined);
        if (ts.isPropertyDeclaration(m)) {
          let type = m.type;
          if (!type) {
            const t = checker.getTypeAtLocation(m);
            type = f.createTypeReferenceNode(
              checker.typeToString(t, m, ts.TypeFormatFlags.NoTruncation),
            );
          }
          return f.updatePropertyDeclaration(
            m,
            m.modifiers,
            m.name,
            m.questionToken ?? m.exclamationToken,
            type,
            undefined,
          );
        }
        return m;
      });
    return printer.printNode(
      ts.EmitHint.Unspecified,
      f.updateClassDeclaration(
        decl,
        stripExport(decl.modifiers),
        decl.name,
        decl.typeParameters,
        decl.heritageClauses,
        members,
      ),
      sf,
    );
  }
  if (ts.isInterfaceDeclaration(decl)) {
    const members = decl.members.filter((m) => !isPrivateMember(m));
    return printer.printNode(
      ts.EmitHint.Unspecified,
      f.updateInterfaceDeclaration(
        decl,
        stripExport(decl.modifiers),
        decl.name,
        decl.typeParameters,
        decl.heritageClauses,
        members,
      ),
      sf,
    );
  }
  if (ts.isTypeAliasDeclaration(decl)) {
    return printer.printNode(
      ts.EmitHint.Unspecified,
      f.updateTypeAliasDeclaration(
        decl,
        stripExport(decl.modifiers),
        decl.name,
        decl.typeParameters,
        decl.type,
      ),
      sf,
    );
  }
  if (ts.isVariableDeclaration(decl)) {
    const t = checker.getTypeAtLocation(decl);
    let type = decl.type
      ? decl.type.getText(sf)
      : checker.typeToString(
          t,
          decl,
          ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.MultilineObjectLiterals,
        );
    if (type.length > 1200) type = checker.typeToString(t, decl);
    return `const ${name}: ${type};`;
  }
  if (ts.isEnumDeclaration(decl)) return printer.printNode(ts.EmitHint.Unspecified, decl, sf);
  return decl.getText(sf);
}

/** Parameters as a declaration shows them: `x = 1` becomes `x?`. */
function declParams(params, checker) {
  const f = ts.factory;
  return params.map((p) => {
    if (!p.initializer) return p;
    const type =
      p.type ??
      f.createTypeReferenceNode(
        checker.typeToString(checker.getTypeAtLocation(p), p, ts.TypeFormatFlags.NoTruncation),
      );
    const question = p.dotDotDotToken ? undefined : f.createToken(ts.SyntaxKind.QuestionToken);
    return f.updateParameterDeclaration(
      p,
      p.modifiers,
      p.dotDotDotToken,
      p.name,
      question,
      type,
      undefined,
    );
  });
}

function stripExport(modifiers) {
  return modifiers?.filter(
    (m) => m.kind !== ts.SyntaxKind.ExportKeyword && m.kind !== ts.SyntaxKind.DefaultKeyword,
  );
}

function kindOf(decl) {
  if (ts.isFunctionDeclaration(decl)) return 'function';
  if (ts.isClassDeclaration(decl)) return 'class';
  if (ts.isInterfaceDeclaration(decl)) return 'interface';
  if (ts.isTypeAliasDeclaration(decl)) return 'type';
  if (ts.isVariableDeclaration(decl)) return 'const';
  if (ts.isEnumDeclaration(decl)) return 'enum';
  return 'export';
}

/** Documented members of a class or interface: name, summary, @default. */
function memberDocs(decl, checker) {
  if (!ts.isClassDeclaration(decl) && !ts.isInterfaceDeclaration(decl)) return [];
  const rows = [];
  for (const m of decl.members) {
    if (isPrivateMember(m) || !m.name) continue;
    const sym = checker.getSymbolAtLocation(m.name);
    if (!sym) continue;
    const { text, tags } = docOf(sym, checker);
    const def = tags.find((t) => t.name === 'default');
    if (!text && !def) continue;
    const isStatic =
      ts.canHaveModifiers(m) &&
      (ts.getModifiers(m) ?? []).some((x) => x.kind === ts.SyntaxKind.StaticKeyword);
    const label = ts.isConstructorDeclaration(m)
      ? 'constructor'
      : `${isStatic ? 'static ' : ''}${m.name.getText()}`;
    const call = ts.isMethodDeclaration(m) || ts.isMethodSignature(m) ? '()' : '';
    rows.push({ label: `${label}${call}`, text, def: def?.text, example: exampleBlock(tags) });
  }
  // Overloads repeat a name; keep the first documented one.
  const seen = new Set();
  return rows.filter((r) => (seen.has(r.label) ? false : seen.add(r.label)));
}

let shared;
/** One program over every package's index.ts (cross-package imports resolve to built dist/). */
function sharedProgram() {
  if (!shared) {
    const entries = API_PACKAGES.flatMap((p) =>
      ['index.ts', 'node.ts'].map((f) => join(ROOT, 'packages', p, 'src', f)),
    ).filter((f) => existsSync(f));
    const configPath = join(ROOT, 'packages', 'core', 'tsconfig.json');
    const parsed = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    );
    const options = {
      ...parsed.options,
      noEmit: true,
      composite: false,
      rootDir: undefined,
      outDir: undefined,
      tsBuildInfoFile: undefined,
    };
    shared = ts.createProgram({ rootNames: entries, options });
  }
  return shared;
}

/**
 * Appends one entry's exports to `lines`, sorted by kind then name. `shown` maps each name shown
 * so far to its symbol; a name shown before under another symbol (a `./node` subclass of a main
 * entry class, say) gets a line that says so. Returns `shown`.
 */
function renderExports(exports, checker, lines, shown) {
  const entries = [];
  for (const exp of exports) {
    const target = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const decls = target.getDeclarations() ?? [];
    // An overloaded function has several declarations; show them all, document the first.
    const main = decls[0];
    if (!main) continue;
    entries.push({ name: exp.getName(), target, decls, main });
  }
  const order = { class: 0, function: 1, const: 2, interface: 3, type: 4, enum: 5, export: 6 };
  entries.sort(
    (a, b) => order[kindOf(a.main)] - order[kindOf(b.main)] || a.name.localeCompare(b.name),
  );

  for (const { name, target, decls, main } of entries) {
    const kind = kindOf(main);
    const mainSf = main.getSourceFile();
    const rel = mainSf.fileName.slice(ROOT.length + 1);
    lines.push(`### ${name} <Badge type="info" text="${kind}" />`, '');
    if (shown.has(name)) {
      lines.push(
        `*Not the main entry's \`${name}\`: the \`./node\` entry exports its own, documented here.*`,
        '',
      );
    }
    const sigs = decls
      .filter(
        (d) => kindOf(d) === kind && !(ts.isFunctionDeclaration(d) && d.body && decls.length > 1),
      )
      .map((d) => signatureOf(d, d.getSourceFile(), checker, name));
    lines.push('```ts', ...sigs, '```', '');
    const { text, tags } = docOf(target, checker);
    if (text) lines.push(prose(text), '');
    const members = memberDocs(main, checker);
    if (members.length > 0) {
      for (const m of members) {
        const def = m.def !== undefined ? ` Default: \`${m.def.replace(/`/g, '')}\`.` : '';
        lines.push(`- \`${m.label}\`: ${prose(m.text.replace(/\n+/g, ' '))}${def}`);
      }
      lines.push('');
    }
    const example = exampleBlock(tags);
    if (example) lines.push('**Example**', '', example, '');
    lines.push(`<small>Source: <code>${rel}</code></small>`, '');
  }
  for (const { name, target } of entries) shown.set(name, target);
  return shown;
}

/** Markdown for one package. Returns undefined when its index.ts does not exist. */
export function renderPackage(pkg) {
  const pkgDir = join(ROOT, 'packages', pkg);
  const entry = join(pkgDir, 'src', 'index.ts');
  if (!existsSync(entry)) return undefined;
  const program = sharedProgram();
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry);
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  const description =
    JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).description ?? '';

  const lines = [
    `<!-- Generated by tools/docs/gen-api-reference.mjs from packages/${pkg}/src. Do not edit. -->`,
    '',
  ];
  if (exports.length === 0) {
    lines.push(`::: info`, `\`@cbtm/${pkg}\` exports nothing yet.`, ':::', '');
    return lines.join('\n');
  }
  lines.push(`${prose(description)}`, '');
  const shown = renderExports(exports, checker, lines, new Map());
  const nodeEntry = join(pkgDir, 'src', 'node.ts');
  if (existsSync(nodeEntry)) {
    const nodeSymbol = checker.getSymbolAtLocation(program.getSourceFile(nodeEntry));
    // What the node entry re-exports from the main one is shown once; what it exports under a
    // main-entry name but from elsewhere (a subclass that can save, say) is shown again.
    const resolve = (e) => (e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e);
    const nodeExports = (nodeSymbol ? checker.getExportsOfModule(nodeSymbol) : []).filter(
      (e) => shown.get(e.getName()) !== resolve(e),
    );
    if (nodeExports.length > 0) {
      lines.push(
        '---',
        '',
        `**\`@cbtm/${pkg}/node\`**: the \`./node\` entry, for Node.js only: what reads and writes files.`,
        '',
      );
      renderExports(nodeExports, checker, lines, shown);
    }
  }
  return lines.join('\n');
}

function main() {
  const check = process.argv.includes('--check');
  mkdirSync(OUT_DIR, { recursive: true });
  const stale = [];
  for (const pkg of API_PACKAGES) {
    const raw = renderPackage(pkg);
    if (raw === undefined) continue;
    const file = join(OUT_DIR, `${pkg}.md`);
    const md = formatMarkdown(raw, file);
    const before = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (before === md) continue;
    if (check) stale.push(file);
    else writeFileSync(file, md);
  }
  if (stale.length > 0) {
    console.error(
      `Out of date (run node tools/docs/gen-api-reference.mjs):\n  ${stale.join('\n  ')}`,
    );
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
