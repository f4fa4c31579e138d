import { readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Every SQL statement the repositories send, read from their source with the
 * TypeScript compiler: the statement text and the columns its declared row
 * type promises (`sql.one<UserRow>(...)` -> UserRow's properties and kinds).
 */

export type ColumnKind = 'string' | 'number' | 'boolean' | 'Date' | 'object';

export interface RepositoryStatement {
  /** file:line, for messages. */
  where: string;
  /** The statement as written (`?` placeholders), or undefined when it is not a fixed string. */
  text?: string;
  /** The row type's columns and kinds; undefined when the call declares no row type. */
  columns?: Map<string, ColumnKind>;
}

function kindOf(checker: ts.TypeChecker, type: ts.Type): ColumnKind {
  const nonNull = checker.getNonNullableType(type);
  const parts = nonNull.isUnion() ? nonNull.types : [nonNull];
  const kinds = new Set<ColumnKind>(
    parts.map((t) => {
      if (t.flags & ts.TypeFlags.StringLike) return 'string';
      if (t.flags & ts.TypeFlags.NumberLike) return 'number';
      if (t.flags & ts.TypeFlags.BooleanLike) return 'boolean';
      if (t.getSymbol()?.getName() === 'Date') return 'Date';
      return 'object';
    }),
  );
  return kinds.size === 1 ? [...kinds][0]! : 'object';
}

export function repositoryStatements(root: string): RepositoryStatement[] {
  const dir = path.join(root, 'server/db/repositories');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.repository.ts'))
    .map((f) => path.join(dir, f));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const found: RepositoryStatement[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node): void => {
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        ['one', 'all'].includes(node.expression.name.text) &&
        checker.getTypeAtLocation(node.expression.expression).getSymbol()?.getName() === 'Sql'
      ) {
        const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
        const arg = node.arguments[0];
        const text = arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) ? arg.text : undefined;
        let columns: Map<string, ColumnKind> | undefined;
        const typeArg = node.typeArguments?.[0];
        if (typeArg) {
          columns = new Map();
          for (const prop of checker.getTypeFromTypeNode(typeArg).getProperties()) {
            columns.set(prop.getName(), kindOf(checker, checker.getTypeOfSymbolAtLocation(prop, typeArg)));
          }
        }
        found.push({ where: `${path.relative(root, file)}:${line}`, text, columns });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}
